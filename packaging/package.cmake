# The Debian package: `cpack` in a build directory writes
# execd_<version>_<arch>.deb, installed below /usr with its configuration in
# /etc/execd (packaging/install.cmake maps the /usr prefix to /etc).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME execd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "execd maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "secure code-execution engine: exec CLI and execd daemon")
set(CPACK_PACKAGE_DESCRIPTION "exec runs a source file in a fresh sandbox (namespaces, cgroups, seccomp)
with hard limits and reports an honest verdict; execd serves the same engine
over an HTTP API with a Redis queue. The language registry covers 28
languages; their toolchains are separate packages.")
# The install runs with DESTDIR and the package's prefix itself, so the
# install-time steps see /usr (and put the configuration in /etc).
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# The programs without their debugging information (a build directory keeps it).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries execd and exec-remote link (exec is static), from
# dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# execd starts a private redis-server unless [redis] url names another.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server")
# Toolchains for the commonest languages; languages.toml names the rest.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3, gcc, g++, libc6-dev")
# conffiles: /etc/execd/execd.toml (dpkg keeps the administrator's edits);
# the maintainer scripts stop and forget the service and remove its state.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
  ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
  ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
