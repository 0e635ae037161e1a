// Starts Pagefind's UI and honours ?q= from the header search box.
(function () {
  var el = document.getElementById("search");
  var ui = new PagefindUI({
    element: "#search",
    bundlePath: el.getAttribute("data-bundle"),
    showSubResults: false,
    showImages: true,
    resetStyles: false,
    openFilters: ["organism", "imaging method"],
    translations: { placeholder: "Search studies" }
  });
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) { ui.triggerSearch(q); }
})();
