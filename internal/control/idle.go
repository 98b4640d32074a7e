package control

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// idleSet holds the connections that have sent nothing yet. One epoll set
// watched by one goroutine stands for all of them, so an idle connection
// costs PID 1 its fd and a few hundred bytes, not a goroutine with its
// stack; a connection gets a goroutine once it has something to read (its
// request, or EOF). That keeps the connection bound large enough that idle
// clients are dropped only under a real flood, never a legitimate burst.
type idleSet struct {
	epfd int // the epoll set
	wake int // an eventfd in the set: wakes wait (event id 0)

	mu     sync.Mutex
	byID   map[uint32]*conn // event id → connection
	nextID uint32
	closed bool
}

var errIdleClosed = errors.New("idle set closed")

func newIdleSet() (*idleSet, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err == nil {
		err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: 0})
	}
	if err != nil {
		unix.Close(epfd)
		if wake > 0 {
			unix.Close(wake)
		}
		return nil, err
	}
	return &idleSet{epfd: epfd, wake: wake, byID: map[uint32]*conn{}}, nil
}

// add watches c until it has something to read. EPOLLONESHOT: one event
// per connection, which then leaves the set. The first connection of an
// empty set wakes wait, which had no read timeout to watch; later ones
// expire after it (one read timeout for all).
func (w *idleSet) add(c *conn) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errIdleClosed
	}
	w.nextID++
	if w.nextID == 0 { // 0 is the eventfd
		w.nextID++
	}
	c.id = w.nextID
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(c.id)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		return err
	}
	w.byID[c.id] = c
	if len(w.byID) == 1 {
		w.wakeLocked()
	}
	return nil
}

// take removes the connection with event id, if it is still in the set.
// w.mu is held.
func (w *idleSet) take(id uint32) *conn {
	c := w.byID[id]
	if c != nil {
		delete(w.byID, id)
		unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
	return c
}

// takeIdlest removes and returns the connection accepted first that has
// no bytes waiting (FIONREAD: a request that epoll has not reported yet is
// not idleness), or nil.
func (w *idleSet) takeIdlest() *conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	var idlest *conn
	for _, c := range w.byID {
		if (idlest == nil || c.accepted.Before(idlest.accepted)) && !hasInput(c.fd) {
			idlest = c
		}
	}
	if idlest != nil {
		w.take(idlest.id)
	}
	return idlest
}

// takeExpired removes and returns the connections accepted before cutoff,
// and says when the next one expires (zero when the set is empty).
func (w *idleSet) takeExpired(cutoff time.Time) (expired []*conn, next time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, c := range w.byID {
		switch {
		case !c.accepted.After(cutoff):
			expired = append(expired, w.take(id))
		case next.IsZero() || c.accepted.Before(next):
			next = c.accepted
		}
	}
	return expired, next
}

// wait blocks until some connections are readable, the set is woken, or
// timeout passes (negative: no timeout), and returns the readable ones,
// taken out of the set.
func (w *idleSet) wait(timeout time.Duration) ([]*conn, error) {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	var evs [64]unix.EpollEvent
	n, err := unix.EpollWait(w.epfd, evs[:], ms)
	if err == unix.EINTR {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var ready []*conn
	for _, ev := range evs[:n] {
		if ev.Fd == 0 {
			var b [8]byte
			unix.Read(w.wake, b[:])
			continue
		}
		if c := w.take(uint32(ev.Fd)); c != nil {
			ready = append(ready, c)
		}
	}
	return ready, nil
}

// wakeUp makes a blocked wait return.
func (w *idleSet) wakeUp() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wakeLocked()
}

// wakeLocked is wakeUp with w.mu held; after close the fd is gone.
func (w *idleSet) wakeLocked() {
	if !w.closed {
		one := [8]byte{1}
		unix.Write(w.wake, one[:])
	}
}

// close takes every connection left out of the set and releases it; add
// fails from now on.
func (w *idleSet) close() []*conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	var left []*conn
	for id := range w.byID {
		left = append(left, w.take(id))
	}
	w.closed = true
	unix.Close(w.epfd)
	unix.Close(w.wake)
	return left
}

// hasInput reports bytes waiting unread on the socket fd (FIONREAD).
func hasInput(fd int) bool {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	return err == nil && n > 0
}
