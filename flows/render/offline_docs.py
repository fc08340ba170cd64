"""Great Expectations Data Docs that work with the network off.

GX writes pages that load jQuery, Bootstrap, bootstrap-table and more from CDNs; on a bureau intranet the
index then lists no validation (bootstrap-table draws that list) and every page waits on dead hosts. After
GX has built a site, localise() copies the bundled assets (reports/vendor/data_docs, see its README) into
the site and points every page at them (without the integrity/crossorigin attributes, which make a browser
refuse a file:// script), drops the remote stylesheets and scripts that have no bundled copy (icons, dark
theme, Vega charts: the pages work without them) and serves GX's logo from the
site's own static folder. A remote stylesheet, script or image left afterwards is an error, not a silent gap.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from flows.support.settings import VENDOR_DIR

VENDOR = VENDOR_DIR / "data_docs"
# remote URL (as GX 1.x writes it, any version in the path) → bundled file
BUNDLED = {
    r"https://code\.jquery\.com/jquery-[\d.]+\.min\.js": "jquery-3.7.1.min.js",
    r"https://maxcdn\.bootstrapcdn\.com/bootstrap/[\d.]+/css/bootstrap\.min\.css": "bootstrap-4.3.1.min.css",
    r"https://stackpath\.bootstrapcdn\.com/bootstrap/[\d.]+/js/bootstrap\.min\.js": "bootstrap-4.3.1.min.js",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/popper\.js/[\d.]+/umd/popper\.min\.js": "popper-1.12.9.min.js",
    r"https://unpkg\.com/bootstrap-table@[\d.]+/dist/bootstrap-table\.min\.js": "bootstrap-table-1.19.1.min.js",
    r"https://unpkg\.com/bootstrap-table@[\d.]+/dist/bootstrap-table\.min\.css": "bootstrap-table-1.19.1.min.css",
    r"https://unpkg\.com/bootstrap-table@[\d.]+/dist/extensions/filter-control/bootstrap-table-filter-control"
    r"(\.min)?\.js": "bootstrap-table-filter-control-1.19.1.min.js",
    r"https://unpkg\.com/bootstrap-table@[\d.]+/dist/extensions/filter-control/bootstrap-table-filter-control"
    r"(\.min)?\.css": "bootstrap-table-filter-control-1.19.1.min.css",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/[\d.]+/js/bootstrap-datepicker\.min\.js":
        "bootstrap-datepicker-1.9.0.min.js",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/[\d.]+/css/bootstrap-datepicker\.min\.css":
        "bootstrap-datepicker-1.9.0.min.css",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/font-awesome/[\d.]+/css/all\.min\.css":
        "fontawesome-6.6.0-solid.min.css",
}
# Subresource-integrity and CORS attributes: a browser refuses a crossorigin script from file:// outright.
_SRI = re.compile(r'\s(integrity|crossorigin)="[^"]*"')
_REMOTE_TAG = re.compile(r'<(link|script)\b[^>]*\b(href|src)="https?://[^"]*"[^>]*>(\s*</script>)?', re.I)
_REMOTE_LOGO = re.compile(r'src="https://great-expectations-web-assets\.s3[^"]*/logo-long\.png[^"]*"')
_REMOTE_LOAD = re.compile(r'<(link|script|img)\b[^>]*\b(href|src)="https?://', re.I)


def localise(site: Path) -> int:
    """Make every page of the Data Docs site under `site` load only local files; returns pages rewritten."""
    target = site / "static" / "vendor"
    target.mkdir(parents=True, exist_ok=True)
    for asset in VENDOR.iterdir():
        if asset.suffix in (".js", ".css", ".woff2"):
            shutil.copyfile(asset, target / asset.name)
    pages = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        up = Path(os.path.relpath(site, page.parent)).as_posix()
        for pattern, name in BUNDLED.items():
            text = re.sub(pattern, f"{up}/static/vendor/{name}", text)
        text = _REMOTE_LOGO.sub(f'src="{up}/static/images/logo-long.png"', text)
        text = _SRI.sub("", text)
        text = _REMOTE_TAG.sub("", text)
        left = _REMOTE_LOAD.search(text)
        if left:
            raise RuntimeError(f"Data Docs page {page} still loads a remote resource: {text[left.start():][:160]}")
        page.write_text(text, encoding="utf-8")
        pages += 1
    return pages
