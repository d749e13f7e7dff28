/**
 * The guest's PID 1, a busybox sh script baked into the initramfs. It stays PID 1 for the VM's whole life (no
 * switch_root), so the image needs no shell of its own and the app is a child whose exit code init can report:
 *
 *   load virtio modules → wait for the drives (swg.disks=N on the kernel command line) → find the config drive
 *   (a tar) → volume drives by the ext4 UUIDs it lists, the root drive is the other one → network from the config →
 *   mount root, /proc, /sys, /dev, tmpfs /run (secrets), volumes → chroot + env + uid/gid → run the app →
 *   on its exit print "shellwego-init: app exited with code N", unmount volumes, power off (the VMM then exits).
 *
 * ext4 is built into the kernels we boot (Debian cloud; Firecracker's vmlinux), like the root mount relies on; a
 * kernel with ext4 as a module gets it into the initramfs through GUEST_MODULES. A volume that cannot be mounted
 * stops the boot before the app runs: an app writing into its root overlay instead would lose the data silently.
 *
 * Graceful stop: a line "stop" on the virtio-serial port named swg.ctl (QEMU) or SIGINT to PID 1, which the kernel
 * sends on Ctrl-Alt-Del (Firecracker's SendCtrlAltDel), makes init send SIGTERM to the app. Apps that ignore it
 * are killed by the host when the grace period ends.
 */
export const GUEST_INIT = `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/null >/dev/console 2>&1
say() { echo "shellwego-init: $*"; }
# Volumes are unmounted first so their filesystems are clean for the next instance (mounts listed in /run/swg-mounts).
halt_vm() {
  sync
  [ -f /run/swg-mounts ] && while read -r m; do umount "$m" 2>/dev/null; done < /run/swg-mounts
  poweroff -f; sleep 10
}
# Boot failures before the app runs: the host reports this code as the instance's exit code (logs.ts), so a VM that
# never ran its app is not taken for an app that exited 0.
boot_failed() { say "$*"; say "boot failed, exit code 125"; halt_vm; }
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko 2>/dev/null || say "insmod $m failed"; done
DISKS=2
for a in $(cat /proc/cmdline); do case "$a" in swg.disks=*) DISKS=\${a#swg.disks=} ;; esac; done
disks() { n=0; for d in /dev/vd?; do [ -b "$d" ] && n=$((n+1)); done; echo $n; }
i=0
while [ "$(disks)" -lt "$DISKS" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
mkdir -p /run/swg /newroot
CFG=""; ROOT=""
# The config drive is a tar: "ustar" at byte 257. Probing with tar itself would scan the whole root disk.
for d in /dev/vd?; do
  [ "$(dd if=$d bs=1 skip=257 count=5 2>/dev/null)" = ustar ] && { CFG=$d; break; }
done
[ -n "$CFG" ] && tar -xf "$CFG" -C /run/swg
[ -f /run/swg/config.sh ] || boot_failed "no config drive found"
. /run/swg/config.sh
touch /run/swg/volumes
# Each other drive by its ext4 UUID (superblock at 1024, UUID at +104): volumes are listed by it, the root is not.
for d in /dev/vd?; do
  [ "$d" = "$CFG" ] || echo "$(hexdump -s 1128 -n 16 -e '16/1 "%02x"' "$d" 2>/dev/null) $d"
done > /run/swg/disks
listed() { while read -r u m t; do [ "$u" = "$1" ] && return 0; done < /run/swg/volumes; return 1; }
while read -r u d; do listed "$u" || { ROOT=$d; break; }; done < /run/swg/disks
mount -t ext4 -o rw "$ROOT" /newroot || boot_failed "cannot mount root drive $ROOT"
hostname "$SWG_HOSTNAME"
ip link set lo up
if [ -n "$SWG_IP" ]; then
  ip link set eth0 up
  ip addr add "$SWG_IP/$SWG_PREFIX" dev eth0
  [ -n "$SWG_GATEWAY" ] && ip route add default via "$SWG_GATEWAY"
  # Fill the neighbour tables on the host side now rather than on the first request.
  [ -n "$SWG_GATEWAY" ] && (ping -c 1 -W 1 "$SWG_GATEWAY" >/dev/null 2>&1 &)
fi
R=/newroot
mkdir -p $R/proc $R/sys $R/dev $R/run $R/tmp $R/.shellwego
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mount -t tmpfs -o mode=755 tmpfs $R/run
# Scratch space in guest RAM, so an app's temporary files never reach the root overlay (a host file).
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
cp /bin/busybox $R/.shellwego/busybox
mkdir -m 700 $R/run/secrets
if [ -d /run/swg/secrets ]; then
  cp /run/swg/secrets/* $R/run/secrets/ 2>/dev/null
  chmod 400 $R/run/secrets/* 2>/dev/null
  chown -R "$SWG_UID:$SWG_GID" $R/run/secrets
fi
while read -r u mode target; do
  [ -n "$u" ] || continue
  dev=""
  while read -r du dd; do [ "$du" = "$u" ] && dev=$dd; done < /run/swg/disks
  if [ -z "$dev" ] || ! mkdir -p "$R$target" || ! mount -t ext4 -o "$mode" "$dev" "$R$target"; then
    boot_failed "cannot mount volume $u at $target (drive \${dev:-missing}): not starting the app"
  fi
  echo "$R$target" >> /run/swg-mounts
done < /run/swg/volumes
cp /run/swg/app.sh $R/run/.swg-app.sh
rm -rf /run/swg
say "starting the app at uptime $(cut -d' ' -f1 /proc/uptime) s"
chroot $R /.shellwego/busybox sh /run/.swg-app.sh &
APP=$!
stop_app() { kill -TERM $APP 2>/dev/null; }
trap stop_app INT TERM
for p in /sys/class/virtio-ports/*; do
  [ "$(cat $p/name 2>/dev/null)" = swg.ctl ] || continue
  # The port stays open (fd 3) so what the host writes is queued even while this loop sleeps; reads see EOF
  # while no host is connected, hence the sleep.
  ( exec 3<>/dev/\${p##*/}
    while :; do
      while read -r cmd <&3; do [ "$cmd" = stop ] && kill -TERM $APP 2>/dev/null; done
      sleep 1
    done ) &
done
while :; do
  wait $APP; code=$?
  kill -0 $APP 2>/dev/null || break
done
say "app exited with code $code"
halt_vm
`;
