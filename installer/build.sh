#!/usr/bin/env bash
# Build the Linux installers: a one-folder bundle (PyInstaller), a tarball with a .desktop entry
# and icon, and a .deb that installs under /opt with a launcher in /usr/bin.
#
#     bash installer/build.sh          # results in build/installer/
#
# Needs python3 (3.11+) with venv, and dpkg-deb (Debian/Ubuntu). The Windows installer is
# installer/carehome-share.iss, built with Inno Setup on Windows from the same spec's bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/installer
VERSION=$(python3 -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
started=$(date +%s)

# A clean environment holding the app as it is installed (not an editable checkout).
python3 -m venv "$OUT/venv"
"$OUT/venv/bin/pip" install -q --disable-pip-version-check . "pyinstaller>=6.10"
"$OUT/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$OUT/dist" --workpath "$OUT/work" installer/carehome-share.spec
BUNDLE="$OUT/dist/carehome-share"

# Tarball: the bundle, its .desktop entry and icon, and a two-line install note.
STAGE="$OUT/carehome-share-$VERSION"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -a "$BUNDLE" "$STAGE/carehome-share"
cp installer/carehome-share.desktop resources/carehome-share.png "$STAGE/"
cat > "$STAGE/INSTALL.txt" <<NOTE
Run ./carehome-share/carehome-share, or copy carehome-share.desktop to ~/.local/share/applications
(set Exec= to the full path of carehome-share/carehome-share) and carehome-share.png to ~/.local/share/icons.
Your data is kept in ~/.local/share/carehome-share, never in this folder: upgrading keeps it.
NOTE
tar -C "$OUT" -czf "$OUT/carehome-share-$VERSION-linux-$ARCH.tar.gz" "carehome-share-$VERSION"

# .deb: /opt/carehome-share, a launcher, the menu entry and icon.
ROOT="$OUT/deb/carehome-share_${VERSION}_$ARCH"
rm -rf "$ROOT"
mkdir -p "$ROOT/DEBIAN" "$ROOT/opt" "$ROOT/usr/bin" "$ROOT/usr/share/applications" \
    "$ROOT/usr/share/icons/hicolor/256x256/apps"
cp -a "$BUNDLE" "$ROOT/opt/carehome-share"
cat > "$ROOT/usr/bin/carehome-share" <<'LAUNCHER'
#!/bin/sh
exec /opt/carehome-share/carehome-share "$@"
LAUNCHER
chmod 755 "$ROOT/usr/bin/carehome-share"
cp installer/carehome-share.desktop "$ROOT/usr/share/applications/"
cp resources/carehome-share.png "$ROOT/usr/share/icons/hicolor/256x256/apps/"
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: carehome-share
Version: $VERSION
Section: misc
Priority: optional
Architecture: $ARCH
Maintainer: carehome-share developers <dev@carehome-share.invalid>
Depends: libegl1, libgl1, libxkbcommon0, libxkbcommon-x11-0, libfontconfig1, libfreetype6, libdbus-1-3, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, fonts-dejavu-core
Recommends: gnome-keyring | kwalletmanager
Installed-Size: $(du -sk "$ROOT" | cut -f1)
Description: safe, recorded access for care-home nurses to residents' GP records
 Checks at each access that a registered nurse, a current resident, a data sharing
 agreement and consent allow it; records every access and refusal in a hash-chained
 audit trail kept in an encrypted database; prints the reports a GP practice reviews.
CONTROL
dpkg-deb --root-owner-group --build "$ROOT" "$OUT/carehome-share_${VERSION}_$ARCH.deb" >/dev/null

echo "bundle:  $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
echo "tarball: $OUT/carehome-share-$VERSION-linux-$ARCH.tar.gz ($(du -sh "$OUT/carehome-share-$VERSION-linux-$ARCH.tar.gz" | cut -f1))"
echo "deb:     $OUT/carehome-share_${VERSION}_$ARCH.deb ($(du -sh "$OUT/carehome-share_${VERSION}_$ARCH.deb" | cut -f1))"
echo "built in $(( $(date +%s) - started )) s"
