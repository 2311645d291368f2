#ifndef BANKGW_COPENSSL_SHIM_H
#define BANKGW_COPENSSL_SHIM_H
// OpenSSL 3 (system libssl). Macros and variadic calls are wrapped as prefixed static inline functions
// so Swift can call them; everything else is imported directly.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/ec.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>

#endif
