// Package tcpmetrics reads the Linux kernel's per-destination TCP metrics:
// the smoothed RTT and RTT variance the kernel remembers for each
// (source, destination) pair after a connection closes, the table that
// `ip tcp_metrics show` prints (Documentation/networking/ip-sysctl.rst,
// tcp_no_metrics_save; include/uapi/linux/tcp_metrics.h).
//
// The table is read over generic netlink (family "tcp_metrics", command
// TCP_METRICS_CMD_GET with NLM_F_DUMP), which needs no privilege. The
// table belongs to the network namespace of the socket that reads it, that
// is, of the thread that calls Dump. Entries age out after an hour
// (TCP_METRICS_TIMEOUT) and the kernel keeps a bounded number of them.
//
// Dump reads the table once. Cache keeps the last read for a couple of
// seconds and answers Lookup from memory, refreshing in the background, so
// that a dial never waits for the kernel but, with Wait, once for the
// first read of a process, for a time it bounds.
//
// On systems other than Linux, Dump returns errors.ErrUnsupported and a
// Cache never finds anything.
package tcpmetrics
