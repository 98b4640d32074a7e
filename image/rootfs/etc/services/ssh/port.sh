# port.sh — sourced by ./run and /etc/startup.d/10-ssh: the one place that
# decides which port dropbear listens on.

# ssh_port prints SSH_PORT when it is a port number (1-65535), else 22,
# with a warning on stderr naming the bad value.
ssh_port() {
	p=${SSH_PORT:-22}
	case $p in
	'' | *[!0-9]* | 0*) ;;
	*) if [ "${#p}" -le 5 ] && [ "$p" -le 65535 ]; then
		echo "$p"
		return 0
	fi ;;
	esac
	echo "warning: SSH_PORT=\"$p\" is not a port number (1-65535); using 22" >&2
	echo 22
}
