// Swift's view of librdkafka. Compiled against Debian's 2.0.2 headers; at run time the binaries load the
// librdkafka 2.16 found through the rpath `<package>/.tools/lib` (docs/kafka.md explains why).
#ifndef PARLEY_CRDKAFKA_SHIM_H
#define PARLEY_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>

// Offset sentinels as typed constants: the header's macros carry comments Swift does not always import.
static const int64_t parley_rd_kafka_offset_invalid = RD_KAFKA_OFFSET_INVALID;
static const int64_t parley_rd_kafka_offset_stored = RD_KAFKA_OFFSET_STORED;

#endif
