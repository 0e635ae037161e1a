"""Static assets (CSS, small scripts) copied from templates/static/ to /static/."""

from __future__ import annotations

import hashlib
from pathlib import Path

from catalogue.pipeline.plan import Step, StepResult


def asset_steps(static: Path) -> list[Step]:
    steps = []
    for path in sorted(p for p in static.rglob("*") if p.is_file()):
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
