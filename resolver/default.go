package resolver

// defaultResolver is shared by every Dialer that has no Resolver of its own,
// so that they share one cache.
var defaultResolver Resolver = &System{}

// Default returns the Resolver used by a Dialer whose Resolver field is nil.
// It is shared by all such Dialers and safe for concurrent use.
func Default() Resolver { return defaultResolver }
