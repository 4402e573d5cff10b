# The install steps that name install-time paths: the systemd unit (the
# execd and configuration paths it starts) and the sample configuration.
# Run by cmake_install.cmake (install(SCRIPT)), where CMAKE_INSTALL_PREFIX is
# the prefix of this install (`cmake --install --prefix P`, CPack's /usr),
# not the configured one; every path is below $DESTDIR when it is set.
# The top-level CMakeLists.txt sets the EXECD_* variables (GNUInstallDirs'
# values, as configured) with install(CODE) just before.

# `dir` below this install's prefix, unless it is absolute.
function(execd_install_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

# The configuration directory, with GNUInstallDirs' rule for the system
# prefixes, applied to this install's prefix: /usr gives /etc, /opt/NAME
# gives /etc/opt/NAME, any other prefix P gives P/etc.
function(execd_install_sysconf out dir)
  if(IS_ABSOLUTE "${dir}")
    set(path "${dir}")
  elseif(CMAKE_INSTALL_PREFIX MATCHES "^/usr/?$")
    set(path "/${dir}")
  elseif(CMAKE_INSTALL_PREFIX MATCHES "^/opt/(.*)")
    set(path "/${dir}/opt/${CMAKE_MATCH_1}")
  else()
    set(path "${CMAKE_INSTALL_PREFIX}/${dir}")
  endif()
  set(${out} "${path}" PARENT_SCOPE)
endfunction()

execd_install_path(execd_sbindir "${EXECD_SBINDIR}")
execd_install_sysconf(execd_sysconfdir "${EXECD_SYSCONFDIR}")
set(execd_config "${execd_sysconfdir}/execd/execd.toml")

# The unit, written where file(INSTALL) would write it and listed in the
# install manifest the same way (without $DESTDIR).
set(execd_unit "${CMAKE_INSTALL_PREFIX}/lib/systemd/system/execd.service")
message(STATUS "Installing: $ENV{DESTDIR}${execd_unit}")
set(EXECD_EXECD "${execd_sbindir}/execd")
set(EXECD_CONFIG "${execd_config}")
configure_file("${EXECD_SOURCE_DIR}/packaging/execd.service.in" "$ENV{DESTDIR}${execd_unit}" @ONLY)
file(CHMOD "$ENV{DESTDIR}${execd_unit}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${execd_unit}")

# The sample configuration: it may come to hold tokens, so root's and its
# group's only. One already there is the administrator's and is kept.
if(EXISTS "$ENV{DESTDIR}${execd_config}")
  message(STATUS "Keeping: $ENV{DESTDIR}${execd_config}")
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${execd_config}")
else()
  file(INSTALL DESTINATION "${execd_sysconfdir}/execd" TYPE FILE
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
    FILES "${EXECD_SOURCE_DIR}/packaging/execd.toml")
endif()
