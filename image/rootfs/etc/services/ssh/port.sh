# port.sh — sourced by ./run and /etc/startup.d/10-ssh: the one place that
# decides which port dropbear listens on.

# ssh_port sets PORT to SSH_PORT when it is a port number (1-65535), else
# 22, with a warning on stderr naming the bad value. (A variable, not
# output: $(ssh_port) would fork a subshell.)
ssh_port() {
	PORT=${SSH_PORT:-22}
	case $PORT in
	'' | *[!0-9]* | 0*) ;;
	*) [ "${#PORT}" -le 5 ] && [ "$PORT" -le 65535 ] && return 0 ;;
	esac
	echo "warning: SSH_PORT=\"$PORT\" is not a port number (1-65535); using 22" >&2
	PORT=22
}
