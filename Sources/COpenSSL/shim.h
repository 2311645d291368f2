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
#include <openssl/bn.h>
#include <openssl/tls1.h>
#include <openssl/core_names.h>

// MARK: SSL_CTX (macros over SSL_CTX_ctrl)

static inline int bankgw_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int bankgw_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline uint64_t bankgw_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options) {
    return SSL_CTX_set_options(ctx, options);
}
static inline long bankgw_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}
static inline long bankgw_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline int bankgw_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}

// The option bits are 64-bit macros built from SSL_OP_BIT(); Swift cannot import them.
static inline uint64_t bankgw_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t bankgw_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t bankgw_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }

// MARK: SSL

static inline int bankgw_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline int bankgw_SSL_get_ex_new_index(void) {
    return SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}
static inline int bankgw_SSL_num_renegotiations(SSL *ssl) {
    return (int)SSL_num_renegotiations(ssl);
}

// MARK: BIO

static inline long bankgw_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}
static inline int bankgw_BIO_set_mem_eof_return(BIO *bio, int value) {
    return (int)BIO_set_mem_eof_return(bio, value);
}
static inline size_t bankgw_BIO_ctrl_pending(BIO *bio) {
    return BIO_ctrl_pending(bio);
}
static inline int bankgw_BIO_reset(BIO *bio) {
    return (int)BIO_reset(bio);
}
/// Bytes a memory BIO has allocated (its BUF_MEM's `max`): a memory BIO never shrinks by itself.
static inline size_t bankgw_BIO_mem_capacity(BIO *bio) {
    BUF_MEM *memory = NULL;
    BIO_get_mem_ptr(bio, &memory);
    return memory == NULL ? 0 : memory->max;
}

// MARK: X509 / stacks

static inline int bankgw_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}
static inline const GENERAL_NAME *bankgw_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}
/// The URI of a GEN_URI general name, NULL for any other kind.
static inline const ASN1_IA5STRING *bankgw_GENERAL_NAME_uri(const GENERAL_NAME *name) {
    return name->type == GEN_URI ? name->d.uniformResourceIdentifier : NULL;
}
static inline void bankgw_X509V3_set_ctx_nodb(X509V3_CTX *ctx) {
    X509V3_set_ctx_nodb(ctx);
}
static inline int bankgw_X509_STORE_CTX_get_ssl_index(void) {
    return SSL_get_ex_data_X509_STORE_CTX_idx();
}

// MARK: keys (EVP_PKEY_Q_keygen is variadic)

static inline EVP_PKEY *bankgw_EVP_EC_gen_P256(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

// MARK: MAC (OSSL_PARAM arrays are built from macros)

/// A new HMAC-SHA-256 context of `mac` (a fetched "HMAC") keyed with `key`, or NULL. An empty key is passed as a
/// non-NULL pointer: EVP_MAC_init reads a NULL key as "keep the previous key", and there is none yet.
static inline EVP_MAC_CTX *bankgw_EVP_MAC_HMAC_SHA256_keyed(EVP_MAC *mac, const unsigned char *key, size_t length) {
    static const unsigned char empty = 0;
    EVP_MAC_CTX *context = EVP_MAC_CTX_new(mac);
    if (context == NULL) return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA2-256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(context, key == NULL ? &empty : key, length, params) != 1) {
        EVP_MAC_CTX_free(context);
        return NULL;
    }
    return context;
}

#endif
