#!/usr/bin/env bash
# build.sh: builds the bootable Dux_OS image with Debian's live-build (the seed's build_duxos.sh).
#
#   sudo iso/build.sh [SPLASH.png [BACKGROUND.png]] [--build-dir DIR] [--out FILE]
#                     [--mirror URL] [--no-packages]
#
#   SPLASH.png      the boot menu's picture (isolinux on BIOS, GRUB on UEFI); fitted to 640x480
#                   and 800x600. Default: iso/branding/splash.png
#   BACKGROUND.png  the desktop background: installed as /usr/share/backgrounds/duxos/
#                   background.png (the image has no desktop; see iso/README.md). Default:
#                   iso/branding/background.png
#   --build-dir DIR where the packages are built and live-build runs (default build/iso; its
#                   live/cache keeps the downloaded .debs for the next build)
#   --out FILE      the image (default DIR/Dux_OS.iso)
#   --mirror URL    the Debian mirror (default http://deb.debian.org/debian/)
#   --no-packages   use the .debs already in DIR/packages instead of building them
#
# Steps: builds the duxos and duxctl packages (CPack, as tests/deploy/test_packages.sh does),
# writes a live-build configuration (lb config plus iso/config/), puts the packages, the
# branding and the documentation into it, runs lb build and copies the hybrid ISO to FILE.
# Needs root (debootstrap, chroot, mounts) and live-build: deploy/install-deps.sh --iso.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
readonly HERE REPO

SPLASH=$HERE/branding/splash.png
BACKGROUND=$HERE/branding/background.png
BUILD=$REPO/build/iso
OUT=
MIRROR=http://deb.debian.org/debian/
SECURITY_MIRROR=http://deb.debian.org/debian-security/
DO_PACKAGES=1

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
usage() { sed -n '4,6p' "$0" | sed 's/^# *//' >&2 && exit 2; }

parse_args() {
    local positional=()
    while (($#)); do
        case $1 in
        --build-dir) BUILD=$(realpath -m -- "${2:?}") && shift 2 ;;
        --out) OUT=$(realpath -m -- "${2:?}") && shift 2 ;;
        --mirror) MIRROR=${2:?} && shift 2 ;;
        --no-packages) DO_PACKAGES=0 && shift ;;
        -h | --help) usage ;;
        -*) die "unknown option $1 (--help)" ;;
        *) positional+=("$1") && shift ;;
        esac
    done
    ((${#positional[@]} <= 2)) || usage
    [[ ${#positional[@]} -ge 1 ]] && SPLASH=$(realpath -- "${positional[0]}")
    [[ ${#positional[@]} -ge 2 ]] && BACKGROUND=$(realpath -- "${positional[1]}")
    OUT=${OUT:-$BUILD/Dux_OS.iso}
    readonly SPLASH BACKGROUND BUILD OUT MIRROR DO_PACKAGES
}

check_host() {
    [[ $EUID -eq 0 ]] || die "run as root (live-build uses debootstrap, chroot and mounts)"
    local tool
    for tool in lb debootstrap cpio; do
        command -v "$tool" >/dev/null || die "$tool is missing: deploy/install-deps.sh --iso"
    done
    command -v python3 >/dev/null || die "python3 is missing (iso/branding/png.py)"
    local img
    for img in "$SPLASH" "$BACKGROUND"; do
        [[ -f $img ]] || die "$img: no such file"
        python3 "$HERE/branding/png.py" size "$img" >/dev/null || die "$img is not a PNG we can read"
    done
}

# ---------------------------------------------------------------------------------------------
# 1. The project's packages.

build_packages() {
    local pkgdir=$BUILD/packages log=$BUILD/packages.log
    mkdir -p "$pkgdir"
    if ((!DO_PACKAGES)); then
        note "using the packages in $pkgdir (--no-packages)"
        return 0
    fi
    note "building duxos and duxctl (RelWithDebInfo, -j2) in $BUILD"
    if [[ ! -f $BUILD/CMakeCache.txt ]]; then
        cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1 ||
            { tail -30 "$log" >&2; die "cmake configure failed"; }
    fi
    cmake --build "$BUILD" -j2 --target programs duxos-configs >>"$log" 2>&1 ||
        { tail -30 "$log" >&2; die "build failed (log: $log)"; }
    rm -f "$pkgdir"/*.deb
    (cd "$BUILD" && cpack -G DEB -D CPACK_PACKAGE_DIRECTORY="$pkgdir") >>"$log" 2>&1 ||
        { tail -30 "$log" >&2; die "cpack failed (log: $log)"; }
}

find_packages() {
    local arch
    arch=$(dpkg --print-architecture)
    mapfile -t DEBS < <(find "$BUILD/packages" -maxdepth 1 -name "duxos_*_$arch.deb" -o \
        -maxdepth 1 -name "duxctl_*_$arch.deb" | sort)
    ((${#DEBS[@]} == 2)) || die "expected duxos and duxctl .debs in $BUILD/packages, found ${#DEBS[@]}"
    note "packages: ${DEBS[*]##*/}"
}

# ---------------------------------------------------------------------------------------------
# 2. The live-build configuration.

configure_live() {
    local live=$BUILD/live
    mkdir -p "$live"
    cd "$live"
    # lb clean keeps cache/ (the downloaded packages and the bootstrap): rebuilds are faster.
    if [[ -d config ]]; then
        lb clean >/dev/null 2>&1 || true
        rm -rf config
    fi
    lb config \
        --mode debian --distribution bookworm --architectures amd64 \
        --archive-areas main \
        --mirror-bootstrap "$MIRROR" --mirror-chroot "$MIRROR" --mirror-binary "$MIRROR" \
        --mirror-chroot-security "$SECURITY_MIRROR" --mirror-binary-security "$SECURITY_MIRROR" \
        --security true --updates true \
        --binary-images iso-hybrid --bootloaders "syslinux,grub-efi" \
        --debian-installer none --memtest none --win32-loader false \
        --apt-recommends false --apt-indices false \
        --firmware-chroot false --firmware-binary false \
        --chroot-squashfs-compression-type zstd \
        --image-name Dux_OS --iso-application "Dux_OS" --iso-publisher "Dux_OS" \
        --iso-volume "Dux_OS" --iso-preparer "Dux_OS iso/build.sh (live-build)" \
        --bootappend-live "boot=live components hostname=duxos quiet console=tty0 console=ttyS0,115200n8" \
        >lb-config.log 2>&1 || { tail -30 lb-config.log >&2; die "lb config failed"; }

    # Our files over lb config's: package list, hook, systemd units and drop-ins, firewall,
    # the first-boot script, the boot menus.
    cp -a "$HERE/config/." config/

    mkdir -p config/packages.chroot
    cp -f "${DEBS[@]}" config/packages.chroot/

    # Branding. isolinux's vesamenu shows its background only at the menu's resolution
    # (640x480); GRUB's theme takes /boot/grub/splash.png, shown at 800x600 or scaled.
    python3 "$HERE/branding/png.py" fit "$SPLASH" config/bootloaders/isolinux/splash.png 640 480
    python3 "$HERE/branding/png.py" fit "$SPLASH" config/bootloaders/isolinux/splash800x600.png 800 600
    mkdir -p config/includes.binary/boot/grub
    cp config/bootloaders/isolinux/splash800x600.png config/includes.binary/boot/grub/splash.png
    local bg=config/includes.chroot/usr/share/backgrounds/duxos
    mkdir -p "$bg"
    cp "$BACKGROUND" "$bg/background.png"
    cp "$SPLASH" "$bg/splash.png"
    mkdir -p config/includes.chroot/usr/share/doc/duxos
    cp "$HERE/README.md" config/includes.chroot/usr/share/doc/duxos/README.iso.md
}

# ---------------------------------------------------------------------------------------------
# 3. Build.

build_image() {
    local live=$BUILD/live start iso
    cd "$live"
    note "lb build in $live (log: $live/build.log); this takes a while"
    start=$SECONDS
    if ! lb build >build.log 2>&1; then
        tail -40 build.log >&2
        die "lb build failed after $((SECONDS - start)) s (log: $live/build.log)"
    fi
    iso=$(find . -maxdepth 1 -name 'Dux_OS*.iso' | head -n 1)
    [[ -n $iso && -s $iso ]] || die "lb build made no ISO (log: $live/build.log)"
    mkdir -p "$(dirname "$OUT")"
    cp -f "$iso" "$OUT"
    note "lb build took $((SECONDS - start)) s"
}

main() {
    parse_args "$@"
    check_host
    local start=$SECONDS
    build_packages
    find_packages
    configure_live
    build_image
    note "built $OUT: $(du -m "$OUT" | cut -f1) MiB, $((SECONDS - start)) s in all"
    (cd "$(dirname "$OUT")" && sha256sum "$(basename "$OUT")" >"$(basename "$OUT").sha256")
    printf '%s\n' "$OUT"
}

main "$@"
