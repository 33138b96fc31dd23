# Shared by the .ci/setup.d scripts.

# apt_install PKG...: installs the Debian packages, refreshing the package
# lists first when they were not refreshed in the last six hours.
apt_install() {
	local marker=/var/lib/apt/lists/.wafermonitor-updated
	if [ -z "$(find "$marker" -mmin -360 2>/dev/null)" ]; then
		apt-get update -qq || apt-get update
		touch "$marker"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}
