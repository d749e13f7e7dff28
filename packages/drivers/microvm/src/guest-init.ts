/**
 * The guest's PID 1, a busybox sh script baked into the initramfs. It stays PID 1 for the VM's whole life (no
 * switch_root), so the image needs no shell of its own and the app is a child whose exit code init can report:
 *
 *   load virtio modules → find the config drive (a tar) and the root drive (ext4) → network from the config →
 *   mount root, /proc, /sys, /dev, tmpfs /run (secrets), 9p volumes → chroot + env + uid/gid → run the app →
 *   on its exit print "shellwego-init: app exited with code N" and power off (QEMU/Firecracker then exit).
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
halt_vm() { sync; poweroff -f; sleep 10; }
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko 2>/dev/null || say "insmod $m failed"; done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
mkdir -p /run/swg /newroot
CFG=""; ROOT=""
# The config drive is a tar: "ustar" at byte 257. Probing with tar itself would scan the whole root disk.
for d in /dev/vd?; do
  if [ -z "$CFG" ] && [ "$(dd if=$d bs=1 skip=257 count=5 2>/dev/null)" = ustar ]; then CFG=$d
  elif [ -z "$ROOT" ]; then ROOT=$d; fi
done
[ -n "$CFG" ] && tar -xf "$CFG" -C /run/swg
[ -f /run/swg/config.sh ] || { say "no config drive found"; halt_vm; }
. /run/swg/config.sh
mount -t ext4 -o rw "$ROOT" /newroot || { say "cannot mount root drive $ROOT"; halt_vm; }
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
if [ -f /run/swg/volumes ]; then
  while read -r tag target mode; do
    [ -n "$tag" ] || continue
    mkdir -p "$R$target"
    mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$mode" "$tag" "$R$target" || say "cannot mount volume $tag at $target"
  done < /run/swg/volumes
fi
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
