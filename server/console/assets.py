"""The console's browser assets: which files of the pinned npm packages are served, and copying
them from ``clients/console/node_modules`` into ``static/vendor/`` (``gridops assets``).

Plain Python (no Flask): the CLI and the app's check for missing assets share this one list.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
# clients/console/node_modules of a checkout: server/console/assets.py → the repository root.
DEFAULT_NODE_MODULES = Path(__file__).resolve().parents[2] / "clients" / "console" / "node_modules"

# (npm package, file or folder inside it, where it goes under vendor/). Only what a page loads:
# minified builds, their style sheets and Leaflet's control images.
FILES: tuple[tuple[str, str, str], ...] = (
    ("leaflet", "dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet", "dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet", "dist/images", "leaflet/images"),
    ("alpinejs", "dist/cdn.min.js", "alpinejs/alpine.min.js"),
    ("echarts", "dist/echarts.min.js", "echarts/echarts.min.js"),
    ("swagger-ui-dist", "swagger-ui.css", "swagger-ui/swagger-ui.css"),
    ("swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui-standalone-preset.js",
     "swagger-ui/swagger-ui-standalone-preset.js"),
)
VERSIONS_FILE = "versions.json"  # which versions were copied, for a person to check


def missing(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """The vendor files a page needs that are not there (empty when installed)."""
    return [target for _, _, target in FILES if not (vendor_dir / target).exists()]


def copy_assets(node_modules: Path = DEFAULT_NODE_MODULES,
                vendor_dir: Path = VENDOR_DIR) -> dict[str, str]:
    """Copy the served files from the npm packages; returns {package: version}.

    Fails before copying anything if a package is not installed (run ``npm ci`` first).
    """
    packages = sorted({package for package, _, _ in FILES})
    absent = [p for p in packages if not (node_modules / p / "package.json").is_file()]
    if absent:
        raise FileNotFoundError(
            f"npm packages missing in {node_modules}: {', '.join(absent)} "
            f"(run `npm ci` in {node_modules.parent})")
    versions = {p: json.loads((node_modules / p / "package.json").read_text())["version"]
                for p in packages}
    if vendor_dir.exists():
        shutil.rmtree(vendor_dir)
    for package, source, target in FILES:
        src, dst = node_modules / package / source, vendor_dir / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    (vendor_dir / VERSIONS_FILE).write_text(json.dumps(versions, indent=2) + "\n")
    return versions
