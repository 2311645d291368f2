#ifndef BANKGW_CPROTOBUFC_SHIM_H
#define BANKGW_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
