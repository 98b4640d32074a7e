package supervisor

import (
	"fmt"
	"time"
)

// Health states a unit publishes (sv status, metrics).
const (
	healthy   = "healthy"
	unhealthy = "unhealthy"
)

// becomeReady: Starting → Running, from a readiness source (evReady) or
// the service's own READY=1 (evNotify). Once running, the watchdog runs
// (systemd arms it when start-up is complete) and so does health:.
func (m *machine) becomeReady(e event) []action {
	m.state, m.ready = Running, !m.drained
	acts := []action{{kind: actDisarm}}
	if m.watchdog > 0 {
		acts[0] = action{kind: actArmWatchdog}
	}
	if m.cfg.health != "" {
		acts = append(acts, action{kind: actWatchHealth})
	}
	return append(acts, logAct(logInfo, "service %s ready (%s, %s)", m.cfg.name, e.who, e.now.Sub(m.started).Round(time.Millisecond)))
}

// onNotify applies one message of the service (sd_notify). Messages of an
// earlier run, or arriving when no process of the current one runs, are
// ignored. MAINPID= (the loop passes on only a process of the run) makes
// that process the one whose exit ends the run. A message is applied in sd_notify's order of meaning: what it
// says of itself (STATUS=, WATCHDOG_USEC=), then its state.
func (m *machine) onNotify(e event) []action {
	if e.gen != m.gen || (m.state != Starting && m.state != Running && m.state != Stopping) {
		return nil
	}
	msg := e.msg
	if msg.HasStatus {
		m.text = msg.Status
	}
	var acts []action
	if msg.MainPID > 0 && msg.MainPID != m.mainPID {
		m.mainPID = msg.MainPID
		acts = append(acts, logAct(logDebug, "service %s: main process is now pid %d (MAINPID=)", m.cfg.name, msg.MainPID),
			action{kind: actFollowMain})
	}
	if msg.WatchdogInterval > 0 {
		m.watchdog = msg.WatchdogInterval
	}
	switch m.state {
	case Starting:
		switch {
		case msg.Ready:
			return append(acts, m.becomeReady(e)...)
		case msg.HasExtend:
			acts = append(acts, action{kind: actExtend, delay: msg.Extend})
		}
	case Running:
		return append(acts, m.notifyRunning(msg.Ready, msg.Reloading || msg.Stopping,
			msg.Watchdog || msg.WatchdogInterval > 0, msg.WatchdogTrigger)...)
	case Stopping:
		if msg.HasExtend {
			acts = append(acts, action{kind: actExtend, delay: msg.Extend})
		}
	}
	return acts
}

// notifyRunning: RELOADING=1 and STOPPING=1 make a running service not
// ready until its next READY=1; WATCHDOG=1 rearms the watchdog and
// WATCHDOG=trigger fails it at once.
func (m *machine) notifyRunning(ready, busy, ping, trigger bool) []action {
	if trigger {
		return m.stopFailing("watchdog: the service sent WATCHDOG=trigger; restarting it")
	}
	if busy {
		m.ready = false
	}
	if ready {
		m.ready = !m.drained
	}
	if ping && m.watchdog > 0 {
		return []action{{kind: actArmWatchdog}}
	}
	return nil
}

// onLiveness counts health: results of the running service: a pass makes
// it healthy, a failure unhealthy (sv check fails), and `retries` failures
// in a row stop it as a failure, so the restart policy decides what
// follows (backoff, fatal). Failures within start_period do not count.
func (m *machine) onLiveness(e event) []action {
	if m.state != Running || e.gen != m.gen {
		return nil // a probe of an earlier run, or one that no longer runs
	}
	was := m.health
	if e.err == "" {
		m.health, m.fails = healthy, 0
		if was == unhealthy {
			return []action{logAct(logInfo, "service %s healthy again", m.cfg.name)}
		}
		return nil
	}
	if e.now.Sub(m.started) < m.cfg.startPeriod {
		return nil
	}
	m.health = unhealthy
	m.fails++
	if m.fails >= max(m.cfg.retries, 1) {
		return m.stopFailing(fmt.Sprintf("health: %s failed %d times in a row: %s; restarting it", m.cfg.health, m.fails, e.err))
	}
	if was != unhealthy {
		return []action{logAct(logInfo, "service %s unhealthy: %s: %s (%d of %d)", m.cfg.name, m.cfg.health, e.err, m.fails, m.cfg.retries)}
	}
	return []action{logAct(logDebug, "service %s: %s: %s (%d of %d)", m.cfg.name, m.cfg.health, e.err, m.fails, m.cfg.retries)}
}
