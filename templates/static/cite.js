// The cite box's style switch: show one pre-rendered style at a time, copy it.
// Loaded as a module from study pages; no inline script (strict CSP), no dependencies.
for (const box of document.querySelectorAll("[data-cite-box]")) {
  const select = box.querySelector("[data-cite-style]");
  const styles = [...box.querySelectorAll("[data-cite-index]")];
  const copied = box.querySelector("[data-cite-copied]");
  const stored = localStorage.getItem("cite-style");
  if (stored !== null && styles.some((s) => s.dataset.citeIndex === stored)) select.value = stored;
  const show = () => {
    for (const s of styles) s.hidden = s.dataset.citeIndex !== select.value;
    copied.textContent = "";
  };
  select.addEventListener("change", () => {
    localStorage.setItem("cite-style", select.value);
    show();
  });
  box.querySelector("[data-cite-copy]").addEventListener("click", async () => {
    const shown = styles.find((s) => !s.hidden).querySelector(".cite");
    try {
      await navigator.clipboard.writeText(shown.textContent);
      copied.textContent = "Copied";
    } catch {
      copied.textContent = "Select the text to copy it";
    }
  });
  box.querySelector(".cite-switch").hidden = false;
  show();
}
