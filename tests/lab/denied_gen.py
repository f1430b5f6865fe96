#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The lab's generator against a denied address (lab_supervise, lab_reload): from the workload
# cgroup, a TCP connect and a UDP datagram to DST, a new port each time (so each is its own ring
# record, never folded into a burst), every 10 ms, for at most 120 s or until the file STOP
# exists. One line per try in LOG: "port end_ns errno".
# usage: denied_gen.py DST LOG STOP
import errno, os, socket, sys, time
dst, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.monotonic() + 120
port = 20000
with open(log, "w", buffering=1) as f:
    while time.monotonic() < deadline and port < 60000 and not os.path.exists(stop):
        err = 0
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            s.connect((dst, port))
        except OSError as e:
            err = e.errno or errno.ETIMEDOUT
        finally:
            s.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.sendto(b"x", (dst, port))
        except OSError:
            pass
        finally:
            u.close()
        f.write("%d %d %d\n" % (port, time.time_ns(), err))
        port += 1
        time.sleep(0.01)
