# Packaging: what `cmake --install` puts where, and the Debian packages CPack makes from it.
#
#   cmake -S . -B build/deploy -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build/deploy -j2 --target programs duxos-configs
#   (cd build/deploy && cpack -G DEB)     ->  duxos_<version>-1_<arch>.deb, duxctl_<version>-1_<arch>.deb
# (tests/deploy/test_packages.sh does these and checks the result.)
#
# Two packages (deploy/debian/README.md says why):
#   duxos   the daemons (/usr/sbin), their systemd units and duxos.target (/lib/systemd/system),
#           one configuration per daemon (/etc/duxos/*.yaml, conffiles), the system user
#           `duxos` and /etc/duxos/credentials (made by the maintainer scripts in deploy/debian/)
#   duxctl  the command-line client (/usr/bin/duxctl)
# Each service's CMakeLists installs its binary (duxos-sandbox-run too); install() without a
# COMPONENT lands in duxos (CMAKE_INSTALL_DEFAULT_COMPONENT_NAME, set before add_subdirectory).

set(DUX_SYSTEMD_UNIT_DIR /lib/systemd/system CACHE PATH "where the systemd units are installed")
set(DUX_PACKAGE_CONTACT "Dux_OS maintainers <maintainers@duxos.invalid>" CACHE STRING
  "Maintainer field of the Debian packages")
set(DUX_PACKAGE_RELEASE 1 CACHE STRING "Debian revision of the packages (the -N of 0.1.0-N)")

# Installing needs the programs and the configurations, not the tests: `install` and cpack do not
# build `all` first (build the two targets above).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(_dux_all_daemons registry wallet escrow store tasks airdrop)
set(_dux_daemons "")
foreach(short ${_dux_all_daemons})
  if(TARGET duxos-${short})
    list(APPEND _dux_daemons ${short})
  endif()
endforeach()

# duxos-tasks and duxos-airdrop install their binaries in their own CMakeLists, like the others;
# their units and configurations follow from here as soon as their targets exist.

# Units: one per daemon that is built (duxos-tasks brings the executor's too), and the target.
set(_units ${PROJECT_SOURCE_DIR}/deploy/systemd/duxos.target)
foreach(short ${_dux_daemons})
  list(APPEND _units ${PROJECT_SOURCE_DIR}/deploy/systemd/duxos-${short}.service)
endforeach()
if(TARGET duxos-tasks)
  list(APPEND _units ${PROJECT_SOURCE_DIR}/deploy/systemd/duxos-tasks-executor.service)
endif()
install(FILES ${_units} DESTINATION ${DUX_SYSTEMD_UNIT_DIR} COMPONENT duxos)

# /etc/duxos/<short>.yaml, generated from each daemon's --print-defaults (cmake/gen_config.cmake).
set(_configs "")
foreach(short ${_dux_daemons})
  set(out ${CMAKE_BINARY_DIR}/etc/duxos/${short}.yaml)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:duxos-${short}> -DSHORT=${short} -DOUT=${out}
            -P ${PROJECT_SOURCE_DIR}/cmake/gen_config.cmake
    DEPENDS duxos-${short} ${PROJECT_SOURCE_DIR}/cmake/gen_config.cmake
    COMMENT "Generating etc/duxos/${short}.yaml" VERBATIM)
  list(APPEND _configs ${out})
endforeach()
add_custom_target(duxos-configs ALL DEPENDS ${_configs})
install(FILES ${_configs} DESTINATION /etc/duxos COMPONENT duxos)

# Documentation and the Debian files lintian expects in every package.
set(_debian ${CMAKE_BINARY_DIR}/debian)
foreach(pkg duxos duxctl)
  file(MAKE_DIRECTORY ${_debian}/${pkg})
  configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/copyright ${_debian}/${pkg}/copyright COPYONLY)
  string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(WRITE ${_debian}/${pkg}/changelog.Debian "\
${pkg} (${PROJECT_VERSION}-${DUX_PACKAGE_RELEASE}) unstable; urgency=medium

  * Built from the Dux_OS source tree with CPack.

 -- ${DUX_PACKAGE_CONTACT}  ${_date}
")
  execute_process(COMMAND gzip -9nf ${_debian}/${pkg}/changelog.Debian)
  install(FILES ${_debian}/${pkg}/copyright ${_debian}/${pkg}/changelog.Debian.gz
    DESTINATION share/doc/${pkg} COMPONENT ${pkg})
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/${pkg}.lintian-overrides
    DESTINATION share/lintian/overrides RENAME ${pkg} COMPONENT ${pkg})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/README.md DESTINATION share/doc/duxos
  RENAME README.systemd.md COMPONENT duxos)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/README.md DESTINATION share/doc/duxos
  RENAME README.Debian.md COMPONENT duxos)
install(FILES ${PROJECT_SOURCE_DIR}/services/duxctl/README.md DESTINATION share/doc/duxctl
  COMPONENT duxctl)

# Maintainer scripts get the list of units this build packages (@DUX_UNITS@).
set(DUX_UNITS "")
foreach(u ${_units})
  get_filename_component(n ${u} NAME)
  string(APPEND DUX_UNITS " ${n}")
endforeach()
string(STRIP "${DUX_UNITS}" DUX_UNITS)
foreach(script postinst prerm postrm)
  configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/${script}.in ${_debian}/duxos/${script} @ONLY
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
    WORLD_EXECUTE)
endforeach()
set(_conffiles "")
foreach(c ${_configs})
  get_filename_component(n ${c} NAME)
  string(APPEND _conffiles "/etc/duxos/${n}\n")
endforeach()
file(WRITE ${_debian}/duxos/conffiles "${_conffiles}")

# ---- CPack: Debian packages ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME duxos)
set(CPACK_PACKAGE_VENDOR "Dux_OS")
set(CPACK_PACKAGE_CONTACT "${DUX_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL duxos duxctl)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${DUX_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps resolves the libraries; the maintainer scripts need adduser and openssl.
set(CPACK_DEBIAN_DUXOS_PACKAGE_NAME duxos)
set(CPACK_DEBIAN_DUXOS_PACKAGE_DEPENDS "adduser, openssl")
set(CPACK_DEBIAN_DUXOS_PACKAGE_RECOMMENDS "postgresql (>= 15), duxctl")
set(CPACK_DEBIAN_DUXOS_PACKAGE_CONTROL_EXTRA
  "${_debian}/duxos/conffiles;${_debian}/duxos/postinst;${_debian}/duxos/prerm;${_debian}/duxos/postrm")
set(CPACK_DEBIAN_DUXOS_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The first line is the synopsis; CPack indents the others.
set(CPACK_COMPONENT_DUXOS_DESCRIPTION "Dux_OS daemons: registry, wallet, escrow, store, tasks, airdrop
The six daemons of a Dux_OS coordinator and the sandboxed task executor of a
provider node, with hardened systemd units (duxos.target), one documented
configuration per daemon in /etc/duxos and secrets loaded as systemd
credentials from /etc/duxos/credentials. Each daemon applies its PostgreSQL
migrations itself when it starts.")
set(CPACK_DEBIAN_DUXCTL_PACKAGE_NAME duxctl)
set(CPACK_DEBIAN_DUXCTL_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_DUXCTL_DESCRIPTION "Dux_OS command-line client
duxctl: node identity, registration and heartbeats, the registry, Flopcoin
addresses, the wallet, escrows, the community fund, the audit log, the store,
and minting bearer tokens.")
include(CPack)
