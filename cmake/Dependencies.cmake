# Every dependency comes from Debian's packages; nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS url)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
# Reads the few fields the gateway needs from upstream answers, which pass through unparsed otherwise.
find_package(simdjson 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)
# ID tokens (OIDC) and organisation JWTs: verified by libjwt with the algorithm pinned per key.
pkg_check_modules(JWT REQUIRED IMPORTED_TARGET libjwt)

# Asio and Beast are header-only; these definitions keep every translation unit consistent.
add_library(switchyard_asio INTERFACE)
target_link_libraries(switchyard_asio INTERFACE Boost::headers Threads::Threads OpenSSL::SSL OpenSSL::Crypto)
target_compile_definitions(switchyard_asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
