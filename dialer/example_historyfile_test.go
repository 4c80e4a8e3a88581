package dialer_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// A History persisted across restarts, so that a new process does not
// pay again for the black holes its predecessor found. It is opt-in: the
// Dialer gets a History of its own, loaded at start and saved at exit
// and, in a long-lived process, every few minutes.
func ExampleHistory_Load() {
	// Typically under os.UserCacheDir(); a temporary directory here.
	cache, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cache)
	path := filepath.Join(cache, "myapp", "happyeyeballs-history.json")

	h := new(dialer.History)
	// A missing or bad file is no reason not to dial: start empty.
	if err := h.Load(path); err != nil {
		fmt.Println("no history yet:", errors.Is(err, fs.ErrNotExist))
	}
	d := &dialer.Dialer{History: h}
	_ = d // dial with d as usual

	// Save every few minutes until the process ends.
	tick := time.NewTicker(5 * time.Minute)
	done := make(chan struct{}) // closed at exit
	go func() {
		for {
			select {
			case <-tick.C:
				if err := h.Save(path); err != nil {
					log.Print(err)
				}
			case <-done:
				return
			}
		}
	}()

	// At exit.
	close(done)
	tick.Stop()
	if err := h.Save(path); err != nil {
		log.Print(err)
	}

	fmt.Println("the next process loads it:", new(dialer.History).Load(path) == nil)
	// Output:
	// no history yet: true
	// the next process loads it: true
}
