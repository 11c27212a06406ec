# Sourced by the arm64 scripts: checks the cross compiler and qemu-user are
# there (apt: g++-aarch64-linux-gnu qemu-user-static; --install installs
# them) and makes arm64 executables run through qemu, children included.
# The tests spawn process.execPath (an arm64 node), which the kernel can
# only run through a binfmt_misc entry: register qemu's once (it needs root;
# registration is machine-wide and only affects arm64 ELF files).
# Afterwards: $QEMU runs an arm64 program; QEMU_LD_PREFIX is exported.
qemu_arm64_setup() {
  if [ "${1:-}" = --install ] &&
    ! { command -v aarch64-linux-gnu-g++ && command -v qemu-aarch64-static; } >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-aarch64-linux-gnu qemu-user-static >/dev/null
  fi
  for tool in aarch64-linux-gnu-g++ qemu-aarch64-static; do
    command -v "$tool" >/dev/null || {
      echo "needs $tool: apt-get install g++-aarch64-linux-gnu qemu-user-static" >&2
      return 1
    }
  done
  export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
  QEMU="qemu-aarch64-static -L $QEMU_LD_PREFIX"
  local misc=/proc/sys/fs/binfmt_misc
  if [ ! -e "$misc/register" ]; then
    mount -t binfmt_misc binfmt_misc "$misc" || { echo "cannot mount binfmt_misc" >&2; return 1; }
  fi
  if [ ! -e "$misc/qemu-aarch64" ]; then
    # The entry Debian's qemu-user-static ships (/usr/share/binfmts/qemu-aarch64):
    # ELF64, little-endian, EM_AARCH64; P keeps argv[0], F opens qemu now.
    printf '%s' ':qemu-aarch64:M:0:\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:PF' \
      >"$misc/register" || { echo "cannot register qemu-aarch64 with binfmt_misc" >&2; return 1; }
  fi
  # Native code the tests build (test/native) is cross-compiled.
  export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
}
