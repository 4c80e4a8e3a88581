package rfc6724

// transient reports false: Plan 9's errors are strings, and none is told
// apart as a local resource shortage; every probe failure is cached.
func transient(error) bool { return false }
