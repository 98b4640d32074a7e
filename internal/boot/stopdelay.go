package boot

// drainer is what SVINIT_STOP_DELAY needs of the supervisor: every service
// marked not ready (`sv check` fails) while it keeps running.
//
// STUB until supervisor.Drain is merged (helper "core"): then call
// s.sup.Drain() in drain and delete this interface.
type drainer interface{ Drain() }

// drain marks every service not ready for the stop delay.
func (s *svinit) drain() {
	if d, ok := any(s.sup).(drainer); ok {
		d.Drain()
		return
	}
	s.log.Warnf("services cannot be marked not ready by this svinit; waiting SVINIT_STOP_DELAY anyway")
}
