#!/usr/bin/env bash
# Builds the Debian package from a staging root made by
#   make install DESTDIR=ROOT PREFIX=/usr
#
#   Packaging/build-deb.sh ROOT OUTDIR
#
# Writes ROOT/DEBIAN/control and ROOT/DEBIAN/md5sums, then
# OUTDIR/peershare_<version>_<arch>.deb, and prints the package's path on the last line.
#
# Depends is computed from the binary's real shared libraries: with dpkg-shlibdeps
# (package dpkg-dev) when it is there, otherwise by mapping the ELF NEEDED entries to the
# packages that ship them (dpkg -S) at their installed versions (dpkg-query -W).
# Environment: DEB_MAINTAINER (the Maintainer field), DEB_REVISION (appended as -N).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 ROOT OUTDIR" >&2
    exit 2
fi
root=$(cd "$1" && pwd)
outdir=$(mkdir -p "$2" && cd "$2" && pwd)
bin="$root/usr/bin/peershare"
maintainer=${DEB_MAINTAINER:-peershare developers <peershare@example.org>}

die() { echo "build-deb: $*" >&2; exit 1; }

[ -x "$bin" ] || die "$bin is missing: run make install DESTDIR=$root PREFIX=/usr first"

# No library of the Swift toolchain may be left: the package must only need Debian's.
if ldd "$bin" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|/opt/' >&2; then
    die "$bin links libraries from the Swift toolchain (build it with --static-swift-stdlib)"
fi
if ldd "$bin" | grep 'not found' >&2; then
    die "$bin needs libraries that are not installed"
fi

# Strip the symbol tables as dh_strip would (about a third of the size); the Swift runtime
# needs only its metadata sections, which stay.
strip --strip-unneeded --remove-section=.comment "$bin"

version=$(env -i PATH=/usr/bin:/bin "$bin" --version) || die "$bin --version failed"
[[ $version =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "unusable version '$version' from $bin --version"
[ -n "${DEB_REVISION:-}" ] && version="$version-$DEB_REVISION"
arch=$(dpkg --print-architecture)

# Depends ----------------------------------------------------------------------------------
# (ROOT/DEBIAN exists first, so dpkg-shlibdeps knows the package root, for $ORIGIN.)
rm -rf "$root/DEBIAN"
mkdir -p "$root/DEBIAN"
depends_shlibdeps() {
    local work out
    work=$(mktemp -d)
    mkdir "$work/debian"
    printf 'Source: peershare\n\nPackage: peershare\nArchitecture: any\n' > "$work/debian/control"
    if out=$(cd "$work" && dpkg-shlibdeps -O "$bin" 2> "$work/stderr"); then
        grep -v 'binaries to analyze should already be installed' "$work/stderr" >&2 || true
        rm -rf "$work"
        sed -n 's/^shlibs:Depends=//p' <<< "$out"
    else
        cat "$work/stderr" >&2
        rm -rf "$work"
        return 1
    fi
}

# Fallback: every NEEDED library, as resolved by the dynamic loader, to its package.
depends_dpkg_s() {
    local lib path pkg ver deps=()
    declare -A seen=()
    while read -r lib; do
        path=$(ldd "$bin" | awk -v l="$lib" '$1 == l && $2 == "=>" { print $3 } $1 ~ "/"l"$" { print $1 }' | head -1)
        [ -n "$path" ] || die "cannot resolve $lib"
        pkg=""
        for candidate in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
            pkg=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
        done
        [ -n "$pkg" ] || die "no Debian package ships $path ($lib)"
        [ -n "${seen[$pkg]:-}" ] && continue
        seen[$pkg]=1
        ver=$(dpkg-query -W -f='${Version}' "$pkg")
        deps+=("$pkg (>= ${ver%-*})")
    done < <(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }')
    (IFS=','; echo "${deps[*]}" | sed 's/,/, /g')
}

depends=""
if command -v dpkg-shlibdeps > /dev/null; then
    depends=$(depends_shlibdeps) || depends=""
    [ -n "$depends" ] || echo "build-deb: dpkg-shlibdeps failed; mapping libraries with dpkg -S" >&2
else
    echo "build-deb: dpkg-shlibdeps not found (apt-get install dpkg-dev); mapping libraries with dpkg -S" >&2
fi
[ -n "$depends" ] || depends=$(depends_dpkg_s)
[ -n "$depends" ] || die "could not compute Depends"
# libavahi-core is opened with dlopen (see Sources/CAvahiCoreLoader), so no tool sees it
# among the binary's NEEDED libraries: name it here, at the installed version.
core_version=$(dpkg-query -W -f='${Version}' libavahi-core7 2>/dev/null) || die "libavahi-core7 is not installed"
depends="$depends, libavahi-core7 (>= ${core_version%-*})"

# Control files ----------------------------------------------------------------------------
# Everything root-owned (dpkg-deb --root-owner-group), directories 0755, files 0644 or 0755.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$root" -type f -perm -u+x -exec chmod 0755 {} +

installed_size=$(du -sk --apparent-size "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: peershare
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: avahi-daemon, libglib2.0-bin, xdg-utils
Section: net
Priority: optional
Description: end-to-end encrypted file sharing on the local network
 peershare sends files and folders between machines on a LAN. Every machine runs
 an agent; the first time two agents meet, the receiving person types a 6-digit
 pairing code shown on the sender's screen (CPace), and the agents pin each
 other's identity keys. Transfers are encrypted with libsodium (X25519,
 XChaCha20-Poly1305) and written only inside the receiver's inbox.
 .
 Peers are found over mDNS through avahi-daemon, or addressed as HOST:PORT.
 A systemd user unit is included: systemctl --user enable --now peershare.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0r md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb="$outdir/peershare_${version}_${arch}.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
