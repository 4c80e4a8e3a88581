package resolver

// defaultClient is shared by every Dialer that has no Resolver of its own,
// so that they share one cache and one view of /etc/resolv.conf and
// /etc/hosts. It reads them on first use.
var defaultClient = &Client{}

// Default returns the Resolver used by a Dialer whose Resolver field is nil:
// a process-wide *Client (the zero value: /etc/resolv.conf, /etc/hosts, the
// default cache). It is safe for concurrent use.
func Default() Resolver { return defaultClient }
