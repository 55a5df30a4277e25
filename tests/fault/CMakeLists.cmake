# Fault injection against the example server: real processes and real
# faults (kill -9, SIGSTOP, RST mid-chunk, a full tmpfs, 1,000 idle
# connections, a lossy SRT link, garbage on every listener). Python standard
# library only; tests that need root or a kernel feature skip themselves with
# the reason. Included from tests/CMakeLists.txt; tests/fault/run.sh runs the
# same modules outside ctest.
if(TARGET livegate-server)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  set(_lg_fault_tests
      "encoder kill, stall and reset=test_encoder_faults"
      "server kill and restart=test_server_kill"
      "disk full=test_disk_full"
      "1000 idle connections=test_idle_connections"
      "srt over a lossy link=test_srt_lossy"
      "garbage on every listener=test_garbage")
  foreach(_lg_fault IN LISTS _lg_fault_tests)
    string(REPLACE "=" ";" _lg_fault "${_lg_fault}")
    list(GET _lg_fault 0 _lg_fault_name)
    list(GET _lg_fault 1 _lg_fault_module)
    add_test(NAME "fault: ${_lg_fault_name}"
             COMMAND ${Python3_EXECUTABLE} -m unittest -v ${_lg_fault_module}
             WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
    set_tests_properties("fault: ${_lg_fault_name}" PROPERTIES
      ENVIRONMENT "LG_SERVER_BIN=$<TARGET_FILE:livegate-server>;PYTHONDONTWRITEBYTECODE=1"
      LABELS fault
      TIMEOUT 300)
  endforeach()
endif()
