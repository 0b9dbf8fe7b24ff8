"""Qt lives only in gui/: the core must import and run without PySide6."""

import subprocess
import sys


def test_core_layers_import_no_qt() -> None:
    code = (
        "import sys\n"
        "import carehome_share.cli, carehome_share.demo\n"
        "import carehome_share.domain.rules, carehome_share.store.vault, carehome_share.store.repo\n"
        "import carehome_share.services.access, carehome_share.services.auth\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print(','.join(qt))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_only_gui_mentions_qt() -> None:
    from pathlib import Path

    import carehome_share

    root = Path(carehome_share.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "gui" not in path.relative_to(root).parts
        and "PySide6" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
