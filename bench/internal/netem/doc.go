// Package netem builds a small emulated network on Linux: a client network
// namespace and a server network namespace joined by two TUN devices and a
// user-space wire that delays, jitters, drops and black-holes packets per
// server-side address or address family.
//
// The kernel this project runs on has no sch_netem, but network namespaces
// and TUN devices work. With a user-space wire between two TUN devices both
// ends run the real kernel TCP stack, so a client inside the client
// namespace (net.Dialer, curl, Node, Python, this module's dialer) sees real
// SYN retransmissions, RSTs and handshake round trips, shaped only by the
// rules given to the wire.
//
// Everything stays inside the two namespaces: addresses must come from the
// documentation ranges 192.0.2.0/24 and 2001:db8::/32, and the wire drops
// any packet whose source or destination is outside them. Nothing is routed
// to or from the host's own namespace.
//
// Creating a Network needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and
// /dev/net/tun; [Available] reports whether both are there. Namespace names
// carry the creating process's PID, so parallel test processes never
// collide, and [New] first removes namespaces left behind by a process
// that no longer exists. [Network.Close] removes everything New created;
// callers should defer it and turn SIGINT into a cancellation so that it
// runs (the bench does).
package netem
