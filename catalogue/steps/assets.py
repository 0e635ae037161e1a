"""Static assets (CSS, small scripts) copied from templates/static/ to /static/."""

from __future__ import annotations

import hashlib
from pathlib import Path

from catalogue.model import Site
from catalogue.paths import escapes
from catalogue.pipeline.plan import Step, StepResult


def asset_steps(static: Path) -> list[Step]:
    steps = []
    # a link out of static/ would publish whatever it points to
    for path in sorted(p for p in static.rglob("*") if p.is_file() and not escapes(p, static)):
        rel = f"static/{path.relative_to(static).as_posix()}"
        data = path.read_bytes()
        steps.append(
            Step(
                id=f"asset:{rel}",
                outputs=(rel,),
                digest=hashlib.sha256(data).hexdigest(),
                make=lambda rel=rel, data=data: StepResult(files={rel: data}),
            )
        )
    return steps


# --- the brand slot of site.yaml (model.Brand) ----------------------------------------

DEFAULT_ACCENT = "#0b6285"
DEFAULT_ACCENT_DARK = "#6cc3e6"  # hand-picked for the default; others are derived
LIGHT_BACKGROUND = "#ffffff"  # --bg of the light theme (style.css)
DARK_BACKGROUND = "#1c252f"  # --surface-2 of the dark theme, the lightest dark surface
MIN_CONTRAST = 5.5  # above WCAG's 4.5 so tinted surfaces (badges, panels) still pass


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(colour: str, background: str, towards: str) -> str:
    """*colour* mixed step by step towards *towards* (black or white) until it reads on
    *background*: a brand colour chosen for its look never makes links illegible."""
    start, end = _rgb(colour), _rgb(towards)
    for step in range(21):
        t = step / 20
        mixed = _hex(tuple(s + (e - s) * t for s, e in zip(start, end, strict=True)))  # type: ignore[arg-type]
        if contrast(mixed, background) >= MIN_CONTRAST:
            return mixed
    return towards


def brand_css(site: Site) -> bytes:
    accent = site.brand.accent or DEFAULT_ACCENT
    light = readable_on(accent, LIGHT_BACKGROUND, "#000000")
    dark = readable_on(accent, DARK_BACKGROUND, "#ffffff")
    if site.brand.accent is None:
        dark = DEFAULT_ACCENT_DARK
    return (
        "/* written by catalogue build from site.yaml brand.accent */\n"
        f":root{{--accent:{light};--accent-dark:{dark}}}\n"
    ).encode()


def logo_path(site: Site) -> str | None:
    """Site path of the copied logo (static/logo.<ext>), or None."""
    if not site.brand.logo:
        return None
    return "static/logo" + Path(site.brand.logo).suffix.lower()


def brand_steps(site: Site, content: Path) -> list[Step]:
    """static/brand.css (accent colours) and static/logo.* (the logo file, copied)."""
    css = brand_css(site)
    steps = [
        Step(
            id="asset:static/brand.css",
            outputs=("static/brand.css",),
            digest=hashlib.sha256(css).hexdigest(),
            make=lambda: StepResult(files={"static/brand.css": css}),
        )
    ]
    target = logo_path(site)
    if target and site.brand.logo:
        data = (content / site.brand.logo).read_bytes()  # checked to exist by the reader
        steps.append(
            Step(
                id=f"asset:{target}",
                outputs=(target,),
                digest=hashlib.sha256(data).hexdigest(),
                make=lambda: StepResult(files={target: data}),
            )
        )
    return steps
