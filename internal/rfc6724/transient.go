//go:build !plan9

package rfc6724

import (
	"errors"
	"syscall"
)

// transient reports whether err is a local resource shortage, which says
// nothing about whether a route exists and so must not be cached.
func transient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
