/*
 * The durable store: the pure core.  See integrations_store.h.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "integrations_codec.h"
#include "integrations_store.h"


static int integrations_store_url_sqlite(const unsigned char *s, size_t len,
    integrations_store_url_t *url, const char **err);
static int integrations_store_url_pg(const unsigned char *s, size_t len,
    integrations_store_url_t *url, const char **err);
static int integrations_store_decode(const unsigned char *s, size_t len,
    char *dst, size_t size);
static int integrations_store_host_name(const char *h);
static void integrations_store_sha256_fields(
    const integrations_store_bytes_t *f, size_t n, char *hex);
static void integrations_store_sha256_field(EVP_MD_CTX *md,
    const unsigned char *data, size_t len);


/* ---- the URL ---------------------------------------------------------- */

int
integrations_store_url_parse(const unsigned char *s, size_t len,
    integrations_store_url_t *url, const char **err)
{
    memset(url, 0, sizeof(integrations_store_url_t));

    if (len > 7 && memcmp(s, "sqlite:", 7) == 0) {
        return integrations_store_url_sqlite(s + 7, len - 7, url, err);
    }

    if (len > 13 && memcmp(s, "postgresql://", 13) == 0) {
        return integrations_store_url_pg(s + 13, len - 13, url, err);
    }

    if (len > 11 && memcmp(s, "postgres://", 11) == 0) {
        return integrations_store_url_pg(s + 11, len - 11, url, err);
    }

    *err = "the URL must start with \"sqlite:\" or \"postgresql://\"";
    return -1;
}


static int
integrations_store_url_sqlite(const unsigned char *s, size_t len,
    integrations_store_url_t *url, const char **err)
{
    size_t  i;

    if (len >= 2 && s[0] == '/' && s[1] == '/') {
        *err = "a SQLite path is \"sqlite:/absolute/path\" or "
               "\"sqlite:relative/path\", without \"//\"";
        return -1;
    }

    if (len >= 8 && memcmp(s, ":memory:", 8) == 0) {
        *err = "an in-memory SQLite database is not shared by the workers";
        return -1;
    }

    if (len >= INTEGRATIONS_STORE_PATH_LEN) {
        *err = "the SQLite path is too long";
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            *err = "the SQLite path holds a control character";
            return -1;
        }
    }

    if (s[len - 1] == '/') {
        *err = "the SQLite path names a directory, not a file";
        return -1;
    }

    url->backend = INTEGRATIONS_STORE_SQLITE;
    memcpy(url->path, s, len);
    url->path[len] = '\0';

    return 0;
}


/* USER@HOST[:PORT]/DB[?sslmode=MODE], the scheme already consumed */

static int
integrations_store_url_pg(const unsigned char *s, size_t len,
    integrations_store_url_t *url, const char **err)
{
    size_t                a, i, hlen;
    unsigned              port;
    const unsigned char  *end, *at, *host, *hend, *p, *db, *q, *amp, *eq;

    static const char  *modes[] = {
        "disable", "allow", "prefer", "require", "verify-ca", "verify-full",
        NULL
    };

    end = s + len;

    for (p = s; p < end; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            *err = "the URL holds a space or a control character";
            return -1;
        }

        if (*p == '#') {
            *err = "the URL must not have a fragment";
            return -1;
        }
    }

    /* the authority ends at the first '/' */

    for (p = s; p < end && *p != '/'; p++) { /* void */ }

    if (p == end) {
        *err = "the URL names no database: postgresql://USER@HOST/DB";
        return -1;
    }

    at = NULL;

    for (i = 0; s + i < p; i++) {
        if (s[i] == '@') {
            if (at) {
                *err = "the URL has two \"@\"";
                return -1;
            }

            at = s + i;
        }
    }

    if (at == NULL || at == s) {
        *err = "the URL names no user: postgresql://USER@HOST/DB";
        return -1;
    }

    if (memchr(s, ':', at - s)) {
        *err = "a password in the URL is refused: give password_file=";
        return -1;
    }

    if (integrations_store_decode(s, at - s, url->user, sizeof(url->user))
        != 0)
    {
        *err = "the user in the URL is invalid or too long";
        return -1;
    }

    /* the host: [v6], or up to ':' */

    host = at + 1;
    port = 5432;

    if (host < p && *host == '[') {
        hend = memchr(host, ']', p - host);
        if (hend == NULL || hend == host + 1) {
            *err = "the URL has an unclosed or empty \"[\"";
            return -1;
        }

        for (q = host + 1; q < hend; q++) {
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')
                  || (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
            {
                *err = "the IPv6 address in the URL is invalid";
                return -1;
            }
        }

        hlen = hend - host - 1;

        if (hlen >= sizeof(url->host)) {
            *err = "the host in the URL is too long";
            return -1;
        }

        memcpy(url->host, host + 1, hlen);
        url->host[hlen] = '\0';
        q = hend + 1;

        if (q < p && *q != ':') {
            *err = "the URL has junk after \"]\"";
            return -1;
        }

    } else {
        for (q = host; q < p && *q != ':'; q++) { /* void */ }

        if (q == host) {
            *err = "the URL names no host: postgresql://USER@HOST/DB";
            return -1;
        }

        if (integrations_store_decode(host, q - host, url->host,
                                      sizeof(url->host))
            != 0)
        {
            *err = "the host in the URL is invalid or too long";
            return -1;
        }

        if (url->host[0] != '/' && !integrations_store_host_name(url->host)) {
            *err = "the host in the URL is neither a name, an address, nor "
                   "a percent-encoded socket directory (%2Frun%2Fpostgresql)";
            return -1;
        }
    }

    if (q < p) {
        /* ':' PORT */
        q++;

        if (q == p || p - q > 5) {
            *err = "the port in the URL is invalid";
            return -1;
        }

        port = 0;

        for ( /* void */ ; q < p; q++) {
            if (*q < '0' || *q > '9') {
                *err = "the port in the URL is invalid";
                return -1;
            }

            port = port * 10 + (*q - '0');
        }

        if (port == 0 || port > 65535) {
            *err = "the port in the URL is out of range";
            return -1;
        }
    }

    url->port = port;

    /* the database, up to '?' */

    db = p + 1;

    for (q = db; q < end && *q != '?'; q++) { /* void */ }

    if (q == db) {
        *err = "the URL names no database: postgresql://USER@HOST/DB";
        return -1;
    }

    if (memchr(db, '/', q - db)) {
        *err = "the database name in the URL holds a \"/\"";
        return -1;
    }

    if (integrations_store_decode(db, q - db, url->dbname,
                                  sizeof(url->dbname))
        != 0)
    {
        *err = "the database name in the URL is invalid or too long";
        return -1;
    }

    /* the query: sslmode= only */

    if (q < end) {
        q++;

        while (q < end) {
            amp = memchr(q, '&', end - q);
            if (amp == NULL) {
                amp = end;
            }

            eq = memchr(q, '=', amp - q);

            if (eq == NULL || eq - q != 7 || memcmp(q, "sslmode", 7) != 0) {
                *err = "the URL has an unknown parameter (only \"sslmode=\" "
                       "is taken)";
                return -1;
            }

            eq++;

            for (a = 0; modes[a]; a++) {
                if ((size_t) (amp - eq) == strlen(modes[a])
                    && memcmp(eq, modes[a], amp - eq) == 0)
                {
                    break;
                }
            }

            if (modes[a] == NULL) {
                *err = "the URL's sslmode is not one of disable, allow, "
                       "prefer, require, verify-ca, verify-full";
                return -1;
            }

            memcpy(url->sslmode, modes[a], strlen(modes[a]) + 1);

            q = (amp < end) ? amp + 1 : end;
        }
    }

    url->backend = INTEGRATIONS_STORE_POSTGRESQL;

    return 0;
}


/* percent-decoded, visible ASCII only, NUL-terminated */

static int
integrations_store_decode(const unsigned char *s, size_t len, char *dst,
    size_t size)
{
    size_t  i, n;

    if (len == 0 || len >= size) {
        return -1;
    }

    if (integrations_codec_percent_decode((unsigned char *) dst, size - 1, s,
                                          len, 0, &n)
        != 0
        || n == 0)
    {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if ((unsigned char) dst[i] <= 0x20 || (unsigned char) dst[i] >= 0x7f)
        {
            return -1;
        }
    }

    dst[n] = '\0';

    return 0;
}


/* a DNS name or an IPv4 address: letters, digits, '-', '.' in labels */

static int
integrations_store_host_name(const char *h)
{
    size_t  label;

    label = 0;

    if (strlen(h) > 253) {
        return 0;
    }

    for ( /* void */ ; *h; h++) {
        if (*h == '.') {
            if (label == 0) {
                return 0;
            }

            label = 0;
            continue;
        }

        if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z')
              || (*h >= '0' && *h <= '9') || *h == '-'))
        {
            return 0;
        }

        if (++label > 63) {
            return 0;
        }
    }

    return label > 0;
}


/* ---- idempotency ------------------------------------------------------- */

void
integrations_store_request_hash(const unsigned char *method, size_t mlen,
    const unsigned char *path, size_t plen, const unsigned char *body,
    size_t blen, char *hex)
{
    integrations_store_bytes_t  f[3];

    f[0].data = method;  f[0].len = mlen;
    f[1].data = path;    f[1].len = plen;
    f[2].data = body;    f[2].len = blen;

    integrations_store_sha256_fields(f, 3, hex);
}


void
integrations_store_key_scope(const char *feature,
    const unsigned char *identity, size_t len, char *hex)
{
    integrations_store_bytes_t  f[3];

    f[0].data = (const unsigned char *) "scope";  f[0].len = 5;
    f[1].data = (const unsigned char *) feature;  f[1].len = strlen(feature);
    f[2].data = identity;                         f[2].len = len;

    integrations_store_sha256_fields(f, 3, hex);
}


/* lowercase hex SHA-256 of n fields, each after its 8-byte length */

static void
integrations_store_sha256_fields(const integrations_store_bytes_t *f,
    size_t n, char *hex)
{
    size_t          i;
    unsigned char   md[EVP_MAX_MD_SIZE];
    unsigned int    len;
    EVP_MD_CTX     *ctx;

    ctx = EVP_MD_CTX_new();

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        /* no digest: nothing may match */
        memset(hex, '-', INTEGRATIONS_STORE_HASH_LEN);
        hex[INTEGRATIONS_STORE_HASH_LEN] = '\0';
        EVP_MD_CTX_free(ctx);
        return;
    }

    for (i = 0; i < n; i++) {
        integrations_store_sha256_field(ctx, f[i].data, f[i].len);
    }

    len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);

    integrations_codec_hex_encode((unsigned char *) hex, md, 32);
    hex[INTEGRATIONS_STORE_HASH_LEN] = '\0';
}


void
integrations_store_hash_fields(const integrations_store_bytes_t *f, size_t n,
    char *hex)
{
    integrations_store_sha256_fields(f, n, hex);
}


int
integrations_store_key_valid(const unsigned char *key, size_t len)
{
    size_t  i;

    if (len == 0 || len > INTEGRATIONS_STORE_KEY_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (key[i] <= 0x20 || key[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* an 8-byte big-endian length, then the bytes */

static void
integrations_store_sha256_field(EVP_MD_CTX *md, const unsigned char *data,
    size_t len)
{
    int            i;
    unsigned char  n[8];
    uint64_t       v;

    v = len;

    for (i = 7; i >= 0; i--) {
        n[i] = (unsigned char) (v & 0xff);
        v >>= 8;
    }

    EVP_DigestUpdate(md, n, 8);

    if (len) {
        EVP_DigestUpdate(md, data, len);
    }
}


/* ---- schema migrations ------------------------------------------------- */

const integrations_store_migration_t  integrations_store_migrations[] = {

    { 1, "leases and health",

      "CREATE TABLE integrations_leases ("
      " name TEXT PRIMARY KEY,"
      " holder TEXT NOT NULL,"
      " token INTEGER NOT NULL,"
      " expires_at INTEGER NOT NULL);"
      "CREATE TABLE integrations_health ("
      " node TEXT PRIMARY KEY,"
      " checked_at INTEGER NOT NULL)",

      "CREATE TABLE integrations_leases ("
      " name TEXT PRIMARY KEY,"
      " holder TEXT NOT NULL,"
      " token BIGINT NOT NULL,"
      " expires_at BIGINT NOT NULL);"
      "CREATE TABLE integrations_health ("
      " node TEXT PRIMARY KEY,"
      " checked_at BIGINT NOT NULL)" },

    { 2, "payment idempotency",

      "CREATE TABLE integrations_idempotency ("
      " scope TEXT NOT NULL,"
      " idem_key TEXT NOT NULL,"
      " request_hash TEXT NOT NULL,"
      " state INTEGER NOT NULL,"
      " owner INTEGER NOT NULL,"
      " locked_until INTEGER NOT NULL,"
      " status INTEGER,"
      " content_type TEXT,"
      " body BLOB,"
      " created_at INTEGER NOT NULL,"
      " expires_at INTEGER NOT NULL,"
      " PRIMARY KEY (scope, idem_key));"
      "CREATE INDEX integrations_idempotency_expires"
      " ON integrations_idempotency (expires_at)",

      "CREATE TABLE integrations_idempotency ("
      " scope TEXT NOT NULL,"
      " idem_key TEXT NOT NULL,"
      " request_hash TEXT NOT NULL,"
      " state BIGINT NOT NULL,"
      " owner BIGINT NOT NULL,"
      " locked_until BIGINT NOT NULL,"
      " status BIGINT,"
      " content_type TEXT,"
      " body BYTEA,"
      " created_at BIGINT NOT NULL,"
      " expires_at BIGINT NOT NULL,"
      " PRIMARY KEY (scope, idem_key));"
      "CREATE INDEX integrations_idempotency_expires"
      " ON integrations_idempotency (expires_at)" },

    { 3, "notification outbox",

      "CREATE TABLE integrations_notifications ("
      " id TEXT PRIMARY KEY,"
      " scope TEXT NOT NULL,"
      " idem_key TEXT,"
      " idem_hash TEXT,"
      " idem_expires_at INTEGER,"
      " channel TEXT NOT NULL,"
      " provider TEXT NOT NULL,"
      " recipient TEXT NOT NULL,"
      " recipient_mask TEXT NOT NULL,"
      " template TEXT,"
      " subject TEXT,"
      " body_text TEXT,"
      " body_html TEXT,"
      " variables TEXT,"
      " template_id TEXT,"
      " sms_type INTEGER NOT NULL,"
      " fallback INTEGER NOT NULL,"
      " state INTEGER NOT NULL,"
      " attempts INTEGER NOT NULL,"
      " next_attempt_at INTEGER NOT NULL,"
      " last_delay INTEGER NOT NULL,"
      " lease_holder TEXT,"
      " attempt_id INTEGER NOT NULL,"
      " reclaimed INTEGER NOT NULL,"
      " provider_message_id TEXT,"
      " error TEXT,"
      " created_at INTEGER NOT NULL,"
      " updated_at INTEGER NOT NULL,"
      " expires_at INTEGER NOT NULL);"
      "CREATE UNIQUE INDEX integrations_notifications_key"
      " ON integrations_notifications (scope, idem_key)"
      " WHERE idem_key IS NOT NULL;"
      "CREATE INDEX integrations_notifications_due"
      " ON integrations_notifications (provider, next_attempt_at)"
      " WHERE state <= 1;"
      "CREATE INDEX integrations_notifications_message"
      " ON integrations_notifications (provider_message_id)"
      " WHERE provider_message_id IS NOT NULL;"
      "CREATE INDEX integrations_notifications_created"
      " ON integrations_notifications (created_at);"
      "CREATE TABLE integrations_notification_attempts ("
      " notification_id TEXT NOT NULL"
      " REFERENCES integrations_notifications (id) ON DELETE CASCADE,"
      " attempt_id INTEGER NOT NULL,"
      " attempt INTEGER NOT NULL,"
      " at INTEGER NOT NULL,"
      " provider TEXT NOT NULL,"
      " provider_message_id TEXT,"
      " outcome TEXT NOT NULL,"
      " error TEXT,"
      " http_status INTEGER NOT NULL,"
      " duration_ms INTEGER NOT NULL,"
      " PRIMARY KEY (notification_id, attempt_id))",

      "CREATE TABLE integrations_notifications ("
      " id TEXT PRIMARY KEY,"
      " scope TEXT NOT NULL,"
      " idem_key TEXT,"
      " idem_hash TEXT,"
      " idem_expires_at BIGINT,"
      " channel TEXT NOT NULL,"
      " provider TEXT NOT NULL,"
      " recipient TEXT NOT NULL,"
      " recipient_mask TEXT NOT NULL,"
      " template TEXT,"
      " subject TEXT,"
      " body_text TEXT,"
      " body_html TEXT,"
      " variables TEXT,"
      " template_id TEXT,"
      " sms_type BIGINT NOT NULL,"
      " fallback BIGINT NOT NULL,"
      " state BIGINT NOT NULL,"
      " attempts BIGINT NOT NULL,"
      " next_attempt_at BIGINT NOT NULL,"
      " last_delay BIGINT NOT NULL,"
      " lease_holder TEXT,"
      " attempt_id BIGINT NOT NULL,"
      " reclaimed BIGINT NOT NULL,"
      " provider_message_id TEXT,"
      " error TEXT,"
      " created_at BIGINT NOT NULL,"
      " updated_at BIGINT NOT NULL,"
      " expires_at BIGINT NOT NULL);"
      "CREATE UNIQUE INDEX integrations_notifications_key"
      " ON integrations_notifications (scope, idem_key)"
      " WHERE idem_key IS NOT NULL;"
      "CREATE INDEX integrations_notifications_due"
      " ON integrations_notifications (provider, next_attempt_at)"
      " WHERE state <= 1;"
      "CREATE INDEX integrations_notifications_message"
      " ON integrations_notifications (provider_message_id)"
      " WHERE provider_message_id IS NOT NULL;"
      "CREATE INDEX integrations_notifications_created"
      " ON integrations_notifications (created_at);"
      "CREATE TABLE integrations_notification_attempts ("
      " notification_id TEXT NOT NULL"
      " REFERENCES integrations_notifications (id) ON DELETE CASCADE,"
      " attempt_id BIGINT NOT NULL,"
      " attempt BIGINT NOT NULL,"
      " at BIGINT NOT NULL,"
      " provider TEXT NOT NULL,"
      " provider_message_id TEXT,"
      " outcome TEXT NOT NULL,"
      " error TEXT,"
      " http_status BIGINT NOT NULL,"
      " duration_ms BIGINT NOT NULL,"
      " PRIMARY KEY (notification_id, attempt_id))" },

    /*
     * 4: the Coupang e-book flow (issue 12).  Ids are Coupang's digits as
     * TEXT (18-digit shipmentBoxIds never pass through a double); times
     * are epoch ms; states are integrations_act_state_e.  Rows:
     *   orders             one per shipment box, with the chosen contact,
     *                      the buyer message's outbox id and state, and
     *                      the fulfilment (acknowledge, DIRECT invoice)
     *   order_items        one per vendorItemId of a box; product_code
     *                      NULL: not mapped by activation_product
     *   activations        one per unit to deliver (unit 1..units): its
     *                      state, live token, grant and revoke calls
     *   activation_links   every token minted (SHA-256 hex only); a resend
     *                      adds generation + 1 and revokes the old one
     *   order_events       the history the admin API shows
     *   coupang_returns    every return/cancel receipt seen, handled or
     *                      withdrawn
     *   coupang_inquiries  the CS inquiries already reported
     *   alert_marks        alerts that must not repeat, until expires_at
     *   job_cursors        where each background job resumes
     */
    { 4, "coupang orders and activation",

      "CREATE TABLE integrations_orders ("
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " order_id TEXT NOT NULL,"
      " api INTEGER NOT NULL,"
      " coupang_status TEXT NOT NULL,"
      " state INTEGER NOT NULL,"
      " contact_kind INTEGER NOT NULL,"
      " contact TEXT,"
      " contact_source TEXT,"
      " buyer_name TEXT,"
      " ordered_at INTEGER,"
      " paid_at INTEGER,"
      " first_seen_at INTEGER NOT NULL,"
      " items INTEGER NOT NULL,"
      " links INTEGER NOT NULL,"
      " unmapped INTEGER NOT NULL,"
      " message_id TEXT,"
      " message_state INTEGER NOT NULL,"
      " sent_at INTEGER,"
      " fulfil_state INTEGER NOT NULL,"
      " fulfil_attempts INTEGER NOT NULL,"
      " next_fulfil_at INTEGER NOT NULL,"
      " fulfil_error TEXT,"
      " acked_at INTEGER,"
      " invoice_number TEXT,"
      " invoiced_at INTEGER,"
      " created_at INTEGER NOT NULL,"
      " updated_at INTEGER NOT NULL,"
      " PRIMARY KEY (vendor_id, shipment_box_id));"
      "CREATE INDEX integrations_orders_by_order"
      " ON integrations_orders (vendor_id, order_id);"
      "CREATE INDEX integrations_orders_by_state"
      " ON integrations_orders (state, first_seen_at);"
      "CREATE INDEX integrations_orders_fulfil"
      " ON integrations_orders (fulfil_state, next_fulfil_at);"
      "CREATE INDEX integrations_orders_message"
      " ON integrations_orders (message_state, message_id);"
      "CREATE TABLE integrations_order_items ("
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT NOT NULL,"
      " order_id TEXT NOT NULL,"
      " product_code TEXT,"
      " item_name TEXT,"
      " quantity INTEGER NOT NULL,"
      " cancel_count INTEGER NOT NULL,"
      " hold_count INTEGER NOT NULL,"
      " links INTEGER NOT NULL,"
      " state INTEGER NOT NULL,"
      " PRIMARY KEY (vendor_id, shipment_box_id, vendor_item_id));"
      "CREATE TABLE integrations_activations ("
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT NOT NULL,"
      " unit INTEGER NOT NULL,"
      " units INTEGER NOT NULL,"
      " order_id TEXT NOT NULL,"
      " product_code TEXT NOT NULL,"
      " state INTEGER NOT NULL,"
      " token_hash TEXT,"
      " grant_state INTEGER NOT NULL,"
      " grant_attempts INTEGER NOT NULL,"
      " grant_owner INTEGER,"
      " grant_until INTEGER,"
      " granted_at INTEGER,"
      " redeemed_at INTEGER,"
      " revoked_at INTEGER,"
      " revoke_reason TEXT,"
      " receipt_id TEXT,"
      " revoke_call_state INTEGER NOT NULL,"
      " revoke_attempts INTEGER NOT NULL,"
      " next_revoke_at INTEGER,"
      " created_at INTEGER NOT NULL,"
      " updated_at INTEGER NOT NULL,"
      " PRIMARY KEY (vendor_id, shipment_box_id, vendor_item_id, unit));"
      "CREATE INDEX integrations_activations_by_state"
      " ON integrations_activations (state, updated_at);"
      "CREATE INDEX integrations_activations_revoke"
      " ON integrations_activations (revoke_call_state, next_revoke_at);"
      "CREATE TABLE integrations_activation_links ("
      " token_hash TEXT PRIMARY KEY,"
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT NOT NULL,"
      " unit INTEGER NOT NULL,"
      " generation INTEGER NOT NULL,"
      " created_at INTEGER NOT NULL,"
      " expires_at INTEGER NOT NULL,"
      " used_at INTEGER,"
      " revoked_at INTEGER,"
      " UNIQUE (vendor_id, shipment_box_id, vendor_item_id, unit, generation));"
      "CREATE TABLE integrations_order_events ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT,"
      " unit INTEGER,"
      " at INTEGER NOT NULL,"
      " event TEXT NOT NULL,"
      " state INTEGER,"
      " detail TEXT);"
      "CREATE INDEX integrations_order_events_by_order"
      " ON integrations_order_events (vendor_id, shipment_box_id, id);"
      "CREATE TABLE integrations_coupang_returns ("
      " vendor_id TEXT NOT NULL,"
      " receipt_id TEXT NOT NULL,"
      " order_id TEXT NOT NULL,"
      " receipt_type TEXT NOT NULL,"
      " receipt_status TEXT NOT NULL,"
      " requested_at INTEGER,"
      " first_seen_at INTEGER NOT NULL,"
      " handled_at INTEGER,"
      " withdrawn_at INTEGER,"
      " PRIMARY KEY (vendor_id, receipt_id));"
      "CREATE TABLE integrations_coupang_inquiries ("
      " vendor_id TEXT NOT NULL,"
      " inquiry_key TEXT NOT NULL,"
      " inquiry_at INTEGER,"
      " reported_at INTEGER NOT NULL,"
      " PRIMARY KEY (vendor_id, inquiry_key));"
      "CREATE TABLE integrations_alert_marks ("
      " mark TEXT PRIMARY KEY,"
      " at INTEGER NOT NULL,"
      " expires_at INTEGER NOT NULL);"
      "CREATE TABLE integrations_job_cursors ("
      " name TEXT PRIMARY KEY,"
      " value INTEGER NOT NULL,"
      " updated_at INTEGER NOT NULL)",

      "CREATE TABLE integrations_orders ("
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " order_id TEXT NOT NULL,"
      " api BIGINT NOT NULL,"
      " coupang_status TEXT NOT NULL,"
      " state BIGINT NOT NULL,"
      " contact_kind BIGINT NOT NULL,"
      " contact TEXT,"
      " contact_source TEXT,"
      " buyer_name TEXT,"
      " ordered_at BIGINT,"
      " paid_at BIGINT,"
      " first_seen_at BIGINT NOT NULL,"
      " items BIGINT NOT NULL,"
      " links BIGINT NOT NULL,"
      " unmapped BIGINT NOT NULL,"
      " message_id TEXT,"
      " message_state BIGINT NOT NULL,"
      " sent_at BIGINT,"
      " fulfil_state BIGINT NOT NULL,"
      " fulfil_attempts BIGINT NOT NULL,"
      " next_fulfil_at BIGINT NOT NULL,"
      " fulfil_error TEXT,"
      " acked_at BIGINT,"
      " invoice_number TEXT,"
      " invoiced_at BIGINT,"
      " created_at BIGINT NOT NULL,"
      " updated_at BIGINT NOT NULL,"
      " PRIMARY KEY (vendor_id, shipment_box_id));"
      "CREATE INDEX integrations_orders_by_order"
      " ON integrations_orders (vendor_id, order_id);"
      "CREATE INDEX integrations_orders_by_state"
      " ON integrations_orders (state, first_seen_at);"
      "CREATE INDEX integrations_orders_fulfil"
      " ON integrations_orders (fulfil_state, next_fulfil_at);"
      "CREATE INDEX integrations_orders_message"
      " ON integrations_orders (message_state, message_id);"
      "CREATE TABLE integrations_order_items ("
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT NOT NULL,"
      " order_id TEXT NOT NULL,"
      " product_code TEXT,"
      " item_name TEXT,"
      " quantity BIGINT NOT NULL,"
      " cancel_count BIGINT NOT NULL,"
      " hold_count BIGINT NOT NULL,"
      " links BIGINT NOT NULL,"
      " state BIGINT NOT NULL,"
      " PRIMARY KEY (vendor_id, shipment_box_id, vendor_item_id));"
      "CREATE TABLE integrations_activations ("
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT NOT NULL,"
      " unit BIGINT NOT NULL,"
      " units BIGINT NOT NULL,"
      " order_id TEXT NOT NULL,"
      " product_code TEXT NOT NULL,"
      " state BIGINT NOT NULL,"
      " token_hash TEXT,"
      " grant_state BIGINT NOT NULL,"
      " grant_attempts BIGINT NOT NULL,"
      " grant_owner BIGINT,"
      " grant_until BIGINT,"
      " granted_at BIGINT,"
      " redeemed_at BIGINT,"
      " revoked_at BIGINT,"
      " revoke_reason TEXT,"
      " receipt_id TEXT,"
      " revoke_call_state BIGINT NOT NULL,"
      " revoke_attempts BIGINT NOT NULL,"
      " next_revoke_at BIGINT,"
      " created_at BIGINT NOT NULL,"
      " updated_at BIGINT NOT NULL,"
      " PRIMARY KEY (vendor_id, shipment_box_id, vendor_item_id, unit));"
      "CREATE INDEX integrations_activations_by_state"
      " ON integrations_activations (state, updated_at);"
      "CREATE INDEX integrations_activations_revoke"
      " ON integrations_activations (revoke_call_state, next_revoke_at);"
      "CREATE TABLE integrations_activation_links ("
      " token_hash TEXT PRIMARY KEY,"
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT NOT NULL,"
      " unit BIGINT NOT NULL,"
      " generation BIGINT NOT NULL,"
      " created_at BIGINT NOT NULL,"
      " expires_at BIGINT NOT NULL,"
      " used_at BIGINT,"
      " revoked_at BIGINT,"
      " UNIQUE (vendor_id, shipment_box_id, vendor_item_id, unit, generation));"
      "CREATE TABLE integrations_order_events ("
      " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
      " vendor_id TEXT NOT NULL,"
      " shipment_box_id TEXT NOT NULL,"
      " vendor_item_id TEXT,"
      " unit BIGINT,"
      " at BIGINT NOT NULL,"
      " event TEXT NOT NULL,"
      " state BIGINT,"
      " detail TEXT);"
      "CREATE INDEX integrations_order_events_by_order"
      " ON integrations_order_events (vendor_id, shipment_box_id, id);"
      "CREATE TABLE integrations_coupang_returns ("
      " vendor_id TEXT NOT NULL,"
      " receipt_id TEXT NOT NULL,"
      " order_id TEXT NOT NULL,"
      " receipt_type TEXT NOT NULL,"
      " receipt_status TEXT NOT NULL,"
      " requested_at BIGINT,"
      " first_seen_at BIGINT NOT NULL,"
      " handled_at BIGINT,"
      " withdrawn_at BIGINT,"
      " PRIMARY KEY (vendor_id, receipt_id));"
      "CREATE TABLE integrations_coupang_inquiries ("
      " vendor_id TEXT NOT NULL,"
      " inquiry_key TEXT NOT NULL,"
      " inquiry_at BIGINT,"
      " reported_at BIGINT NOT NULL,"
      " PRIMARY KEY (vendor_id, inquiry_key));"
      "CREATE TABLE integrations_alert_marks ("
      " mark TEXT PRIMARY KEY,"
      " at BIGINT NOT NULL,"
      " expires_at BIGINT NOT NULL);"
      "CREATE TABLE integrations_job_cursors ("
      " name TEXT PRIMARY KEY,"
      " value BIGINT NOT NULL,"
      " updated_at BIGINT NOT NULL)" },

    /*
     * A notification's owner may ask for it to be cancelled while it is
     * being sent (a box revoked while its buyer message is in flight): the
     * column holds the error the row ends with instead of being queued or
     * claimed again, NULL while nobody asked.  The outbox knows nothing of
     * owners; see OUTBOX_FINISH and OUTBOX_CANCEL_DUE.
     */
    { 5, "notification cancel requests",

      "ALTER TABLE integrations_notifications"
      " ADD COLUMN cancel_requested TEXT",

      "ALTER TABLE integrations_notifications"
      " ADD COLUMN cancel_requested TEXT" },

    /*
     * The sweeper's STMT_ACT_GRANT_DUE every 2 s on every node: without
     * it, a scan of every unit ever sold.  Partial: only pending grants,
     * a handful at any time, are in it; grant_state in the key too, or
     * SQLite's planner (no ANALYZE) prefers the state index and a sort
     */
    { 6, "activation grant due index",

      "CREATE INDEX integrations_activations_grant_due"
      " ON integrations_activations (grant_state, grant_until)"
      " WHERE grant_state = 1",

      "CREATE INDEX integrations_activations_grant_due"
      " ON integrations_activations (grant_state, grant_until)"
      " WHERE grant_state = 1" },

    /*
     * OUTBOX_CANCEL_DUE runs in every claim: on the due index it read
     * every due row of the provider to find the few marked ones (20,000
     * queued: deliveries 2,200 -> 1,600 a second).  Partial: only rows
     * marked and not ended are in it, almost always none
     */
    { 7, "notification cancel request index",

      "CREATE INDEX integrations_notifications_cancel_due"
      " ON integrations_notifications (provider, next_attempt_at)"
      " WHERE cancel_requested IS NOT NULL AND state <= 1",

      "CREATE INDEX integrations_notifications_cancel_due"
      " ON integrations_notifications (provider, next_attempt_at)"
      " WHERE cancel_requested IS NOT NULL AND state <= 1" }
};

const size_t  integrations_store_nmigrations =
    sizeof(integrations_store_migrations)
    / sizeof(integrations_store_migration_t);


size_t
integrations_store_migrations_check(const integrations_store_migration_t *m,
    size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (m[i].version != i + 1 || m[i].name == NULL
            || m[i].sqlite == NULL || m[i].postgresql == NULL
            || m[i].sqlite[0] == '\0' || m[i].postgresql[0] == '\0')
        {
            return i + 1;
        }
    }

    return 0;
}


unsigned
integrations_store_schema_latest(const integrations_store_migration_t *m,
    size_t n)
{
    return n ? m[n - 1].version : 0;
}


int
integrations_store_migrations_pending(const integrations_store_migration_t *m,
    size_t n, unsigned current, size_t *first)
{
    size_t  i;

    if (current > integrations_store_schema_latest(m, n)) {
        return -1;
    }

    for (i = 0; i < n && m[i].version <= current; i++) { /* void */ }

    *first = i;

    return 0;
}


/* ---- statements -------------------------------------------------------- */

#define T_INT   INTEGRATIONS_STORE_INT
#define T_TEXT  INTEGRATIONS_STORE_TEXT
#define T_BLOB  INTEGRATIONS_STORE_BLOB


static const integrations_store_sql_t  integrations_store_stmts[] = {

    /* INTEGRATIONS_STORE_STMT_SCHEMA_TABLE */
    { "CREATE TABLE IF NOT EXISTS integrations_schema ("
      " version INTEGER PRIMARY KEY,"
      " name TEXT NOT NULL,"
      " applied_at INTEGER NOT NULL)",
      "CREATE TABLE IF NOT EXISTS integrations_schema ("
      " version BIGINT PRIMARY KEY,"
      " name TEXT NOT NULL,"
      " applied_at BIGINT NOT NULL)",
      0, { 0 } },

    /* INTEGRATIONS_STORE_STMT_SCHEMA_VERSION */
    { "SELECT COALESCE(MAX(version), 0) FROM integrations_schema",
      "SELECT COALESCE(MAX(version), 0)::BIGINT FROM integrations_schema",
      0, { 0 } },

    /* INTEGRATIONS_STORE_STMT_SCHEMA_INSERT */
    { "INSERT INTO integrations_schema (version, name, applied_at)"
      " VALUES (?1, ?2, ?3)",
      "INSERT INTO integrations_schema (version, name, applied_at)"
      " VALUES ($1, $2, $3)",
      3, { T_INT, T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_HEALTH */
    { "INSERT INTO integrations_health (node, checked_at) VALUES (?1, ?2)"
      " ON CONFLICT (node) DO UPDATE SET checked_at = excluded.checked_at",
      "INSERT INTO integrations_health (node, checked_at) VALUES ($1, $2)"
      " ON CONFLICT (node) DO UPDATE SET checked_at = excluded.checked_at",
      2, { T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_IDEM_GET */
    { "SELECT request_hash, state, status, content_type, body,"
      " locked_until, expires_at, owner FROM integrations_idempotency"
      " WHERE scope = ?1 AND idem_key = ?2",
      "SELECT request_hash, state, status, content_type, body,"
      " locked_until, expires_at, owner FROM integrations_idempotency"
      " WHERE scope = $1 AND idem_key = $2",
      2, { T_TEXT, T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_IDEM_CLAIM: a new key, an expired record,
     * this very attempt (the claim run again after a lost connection),
     * or the same request's attempt whose lock lapsed; RETURNING says it
     * is ours.  $6 is now.
     */
    { "INSERT INTO integrations_idempotency (scope, idem_key, request_hash,"
      " state, owner, locked_until, created_at, expires_at)"
      " VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7)"
      " ON CONFLICT (scope, idem_key) DO UPDATE SET"
      " request_hash = excluded.request_hash, state = 0,"
      " owner = excluded.owner, locked_until = excluded.locked_until,"
      " created_at = excluded.created_at, expires_at = excluded.expires_at,"
      " status = NULL, content_type = NULL, body = NULL"
      " WHERE integrations_idempotency.expires_at <= ?6"
      " OR (integrations_idempotency.state = 0"
      " AND integrations_idempotency.owner = excluded.owner)"
      " OR (integrations_idempotency.state = 0"
      " AND integrations_idempotency.locked_until <= ?6"
      " AND integrations_idempotency.request_hash = excluded.request_hash)"
      " RETURNING owner",
      "INSERT INTO integrations_idempotency (scope, idem_key, request_hash,"
      " state, owner, locked_until, created_at, expires_at)"
      " VALUES ($1, $2, $3, 0, $4, $5, $6, $7)"
      " ON CONFLICT (scope, idem_key) DO UPDATE SET"
      " request_hash = excluded.request_hash, state = 0,"
      " owner = excluded.owner, locked_until = excluded.locked_until,"
      " created_at = excluded.created_at, expires_at = excluded.expires_at,"
      " status = NULL, content_type = NULL, body = NULL"
      " WHERE integrations_idempotency.expires_at <= $6"
      " OR (integrations_idempotency.state = 0"
      " AND integrations_idempotency.owner = excluded.owner)"
      " OR (integrations_idempotency.state = 0"
      " AND integrations_idempotency.locked_until <= $6"
      " AND integrations_idempotency.request_hash = excluded.request_hash)"
      " RETURNING owner",
      7, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_IDEM_FINISH: only the attempt that owns it */
    { "UPDATE integrations_idempotency SET state = 1, status = ?4,"
      " content_type = ?5, body = ?6, locked_until = 0"
      " WHERE scope = ?1 AND idem_key = ?2 AND owner = ?3 AND state = 0",
      "UPDATE integrations_idempotency SET state = 1, status = $4,"
      " content_type = $5, body = $6, locked_until = 0"
      " WHERE scope = $1 AND idem_key = $2 AND owner = $3 AND state = 0",
      6, { T_TEXT, T_TEXT, T_INT, T_INT, T_TEXT, T_BLOB } },

    /* INTEGRATIONS_STORE_STMT_IDEM_RELEASE */
    { "DELETE FROM integrations_idempotency"
      " WHERE scope = ?1 AND idem_key = ?2 AND owner = ?3 AND state = 0",
      "DELETE FROM integrations_idempotency"
      " WHERE scope = $1 AND idem_key = $2 AND owner = $3 AND state = 0",
      3, { T_TEXT, T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_IDEM_PURGE: a small batch, by the index */
    { "DELETE FROM integrations_idempotency WHERE rowid IN"
      " (SELECT rowid FROM integrations_idempotency"
      " WHERE expires_at <= ?1 LIMIT ?2)",
      "DELETE FROM integrations_idempotency WHERE ctid IN"
      " (SELECT ctid FROM integrations_idempotency"
      " WHERE expires_at <= $1 LIMIT $2)",
      2, { T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_LEASE_ACQUIRE: $3 expires, $4 now */
    { "INSERT INTO integrations_leases (name, holder, token, expires_at)"
      " VALUES (?1, ?2, 1, ?3)"
      " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
      " expires_at = excluded.expires_at,"
      " token = CASE WHEN integrations_leases.holder = excluded.holder"
      " THEN integrations_leases.token"
      " ELSE integrations_leases.token + 1 END"
      " WHERE integrations_leases.holder = excluded.holder"
      " OR integrations_leases.expires_at <= ?4"
      " RETURNING token",
      "INSERT INTO integrations_leases (name, holder, token, expires_at)"
      " VALUES ($1, $2, 1, $3)"
      " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
      " expires_at = excluded.expires_at,"
      " token = CASE WHEN integrations_leases.holder = excluded.holder"
      " THEN integrations_leases.token"
      " ELSE integrations_leases.token + 1 END"
      " WHERE integrations_leases.holder = excluded.holder"
      " OR integrations_leases.expires_at <= $4"
      " RETURNING token",
      4, { T_TEXT, T_TEXT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_LEASE_RELEASE: the token stays, for fencing */
    { "UPDATE integrations_leases SET expires_at = 0"
      " WHERE name = ?1 AND holder = ?2",
      "UPDATE integrations_leases SET expires_at = 0"
      " WHERE name = $1 AND holder = $2",
      2, { T_TEXT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_OUTBOX_KEY_GET */
    { "SELECT id, idem_hash, idem_expires_at, state FROM"
      " integrations_notifications WHERE scope = ?1 AND idem_key = ?2",
      "SELECT id, idem_hash, idem_expires_at, state FROM"
      " integrations_notifications WHERE scope = $1 AND idem_key = $2",
      2, { T_TEXT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_OUTBOX_KEY_RELEASE: an expired key */
    { "UPDATE integrations_notifications SET idem_key = NULL WHERE"
      " scope = ?1 AND idem_key = ?2",
      "UPDATE integrations_notifications SET idem_key = NULL WHERE"
      " scope = $1 AND idem_key = $2",
      2, { T_TEXT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_OUTBOX_INSERT: $18 due, $19 now */
    { "INSERT INTO integrations_notifications (id, scope, idem_key,"
      " idem_hash, idem_expires_at, channel, provider, recipient,"
      " recipient_mask, template, subject, body_text, body_html,"
      " variables, template_id, sms_type, fallback, state, attempts,"
      " next_attempt_at, last_delay, attempt_id, reclaimed, created_at,"
      " updated_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
      " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0, 0, ?18, 0, 0, 0,"
      " ?19, ?19, ?20) ON CONFLICT DO NOTHING",
      "INSERT INTO integrations_notifications (id, scope, idem_key,"
      " idem_hash, idem_expires_at, channel, provider, recipient,"
      " recipient_mask, template, subject, body_text, body_html,"
      " variables, template_id, sms_type, fallback, state, attempts,"
      " next_attempt_at, last_delay, attempt_id, reclaimed, created_at,"
      " updated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
      " $9, $10, $11, $12, $13, $14, $15, $16, $17, 0, 0, $18, 0, 0, 0,"
      " $19, $19, $20) ON CONFLICT DO NOTHING",
      20, { T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT, T_TEXT, T_TEXT, T_TEXT,
          T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT,
          T_INT, T_INT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_OUTBOX_GET */
    { "SELECT id, state, channel, provider, recipient_mask, template,"
      " attempts, next_attempt_at, provider_message_id, error,"
      " created_at, updated_at, fallback FROM integrations_notifications"
      " WHERE id = ?1 AND scope = ?2",
      "SELECT id, state, channel, provider, recipient_mask, template,"
      " attempts, next_attempt_at, provider_message_id, error,"
      " created_at, updated_at, fallback FROM integrations_notifications"
      " WHERE id = $1 AND scope = $2",
      2, { T_TEXT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_OUTBOX_ATTEMPTS */
    { "SELECT attempt, at, provider, provider_message_id, outcome,"
      " error, http_status, duration_ms FROM"
      " integrations_notification_attempts WHERE notification_id = ?1"
      " ORDER BY at, attempt",
      "SELECT attempt, at, provider, provider_message_id, outcome,"
      " error, http_status, duration_ms FROM"
      " integrations_notification_attempts WHERE notification_id = $1"
      " ORDER BY at, attempt",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_OUTBOX_DUE: a read, before the claim takes the
     * writer lock
     */
    { "SELECT 1 FROM integrations_notifications WHERE state <= 1 AND"
      " provider = ?1 AND next_attempt_at <= ?2 LIMIT 1",
      "SELECT 1 FROM integrations_notifications WHERE state <= 1 AND"
      " provider = $1 AND next_attempt_at <= $2 LIMIT 1",
      2, { T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_OUTBOX_CLAIM: $3 the lease's end, $4 now;
     * PostgreSQL locks the rows it takes and skips those another claim
     * holds.  A row whose owner asked for it to be cancelled is never
     * taken (OUTBOX_CANCEL_DUE ends it)
     */
    { "UPDATE integrations_notifications SET reclaimed = CASE WHEN"
      " state = 1 THEN 1 ELSE 0 END, state = 1, lease_holder = ?1,"
      " attempt_id = ?2, next_attempt_at = ?3, attempts = attempts + 1,"
      " updated_at = ?4 WHERE id IN (SELECT id FROM"
      " integrations_notifications WHERE state <= 1 AND provider = ?6"
      " AND next_attempt_at <= ?4 AND cancel_requested IS NULL"
      " ORDER BY next_attempt_at LIMIT ?5)"
      " RETURNING id, attempts, reclaimed, channel, provider, recipient,"
      " recipient_mask, subject, body_text, body_html, variables,"
      " template_id, sms_type, fallback, created_at, expires_at,"
      " last_delay",
      "WITH due AS (SELECT id FROM integrations_notifications WHERE"
      " state <= 1 AND provider = $6 AND next_attempt_at <= $4 AND"
      " cancel_requested IS NULL ORDER BY next_attempt_at LIMIT $5"
      " FOR UPDATE SKIP LOCKED) UPDATE"
      " integrations_notifications n SET reclaimed = CASE WHEN n.state ="
      " 1 THEN 1 ELSE 0 END, state = 1, lease_holder = $1, attempt_id ="
      " $2, next_attempt_at = $3, attempts = n.attempts + 1, updated_at"
      " = $4 FROM due WHERE n.id = due.id RETURNING n.id, n.attempts,"
      " n.reclaimed, n.channel, n.provider, n.recipient,"
      " n.recipient_mask, n.subject, n.body_text, n.body_html,"
      " n.variables, n.template_id, n.sms_type, n.fallback,"
      " n.created_at, n.expires_at, n.last_delay",
      6, { T_TEXT, T_INT, T_INT, T_INT, T_INT, T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_OUTBOX_CANCEL_DUE: before a claim, the due
     * rows of provider whose owner asked for them to be cancelled (a
     * sender died while sending one, or it was queued when asked) end
     * failed with the owner's error, never sent; $2 the claim's attempt
     * id, so that a late outcome of the dead attempt is fenced out.  On
     * PostgreSQL a row another transaction holds is left to a later claim
     */
    { "UPDATE integrations_notifications SET state = 4, error ="
      " cancel_requested, lease_holder = NULL, reclaimed = 0, attempt_id"
      " = ?2, updated_at = ?3 WHERE id IN (SELECT id FROM"
      " integrations_notifications WHERE state <= 1 AND provider = ?1"
      " AND next_attempt_at <= ?3 AND cancel_requested IS NOT NULL"
      " LIMIT ?4)",
      "WITH due AS (SELECT id FROM integrations_notifications WHERE"
      " state <= 1 AND provider = $1 AND next_attempt_at <= $3 AND"
      " cancel_requested IS NOT NULL LIMIT $4 FOR UPDATE SKIP LOCKED)"
      " UPDATE integrations_notifications n SET state = 4, error ="
      " n.cancel_requested, lease_holder = NULL, reclaimed = 0,"
      " attempt_id = $2, updated_at = $3 FROM due WHERE n.id = due.id",
      4, { T_TEXT, T_INT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_OUTBOX_FINISH: fenced by the attempt id; run
     * twice, the same.  A row whose owner asked for it to be cancelled
     * while this attempt was under way is not queued again (a retry, a
     * fallback): it ends failed with the owner's error; any other outcome
     * (sent: it reached the provider) stands.  On PostgreSQL an owner's
     * request and this UPDATE take the row's lock in turn, and the later
     * one sees the other's row
     */
    { "UPDATE integrations_notifications SET attempts = CASE WHEN state"
      " = 1 THEN attempts - ?10 ELSE attempts END, state = CASE WHEN ?3"
      " = 0 AND cancel_requested IS NOT NULL THEN 4 ELSE ?3 END,"
      " next_attempt_at = ?4, provider_message_id = COALESCE(?5,"
      " provider_message_id), error = CASE WHEN ?3 = 0 AND"
      " cancel_requested IS NOT NULL THEN cancel_requested ELSE ?6 END,"
      " last_delay = ?7, provider = ?8, fallback = ?9, updated_at = ?11,"
      " lease_holder = NULL, reclaimed = 0 WHERE id = ?1 AND attempt_id"
      " = ?2 AND (state = 1 OR state = ?3 OR (?3 = 0 AND state = 4 AND"
      " cancel_requested IS NOT NULL))",
      "UPDATE integrations_notifications SET attempts = CASE WHEN state"
      " = 1 THEN attempts - $10 ELSE attempts END, state = CASE WHEN $3"
      " = 0 AND cancel_requested IS NOT NULL THEN 4 ELSE $3 END,"
      " next_attempt_at = $4, provider_message_id = COALESCE($5,"
      " provider_message_id), error = CASE WHEN $3 = 0 AND"
      " cancel_requested IS NOT NULL THEN cancel_requested ELSE $6 END,"
      " last_delay = $7, provider = $8, fallback = $9, updated_at = $11,"
      " lease_holder = NULL, reclaimed = 0 WHERE id = $1 AND attempt_id"
      " = $2 AND (state = 1 OR state = $3 OR ($3 = 0 AND state = 4 AND"
      " cancel_requested IS NOT NULL))",
      11, { T_TEXT, T_INT, T_INT, T_INT, T_TEXT, T_TEXT, T_INT, T_TEXT, T_INT,
          T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_OUTBOX_ATTEMPT */
    { "INSERT INTO integrations_notification_attempts (notification_id,"
      " attempt_id, attempt, at, provider, provider_message_id, outcome,"
      " error, http_status, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
      " ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
      "INSERT INTO integrations_notification_attempts (notification_id,"
      " attempt_id, attempt, at, provider, provider_message_id, outcome,"
      " error, http_status, duration_ms) VALUES ($1, $2, $3, $4, $5, $6,"
      " $7, $8, $9, $10) ON CONFLICT DO NOTHING",
      10, { T_TEXT, T_INT, T_INT, T_INT, T_TEXT, T_TEXT, T_TEXT, T_TEXT,
          T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_OUTBOX_RECEIPT: sent to delivered or failed,
     * once
     */
    { "UPDATE integrations_notifications SET state = ?3, error ="
      " COALESCE(?4, error), updated_at = ?5 WHERE provider_message_id ="
      " ?2 AND provider = ?1 AND (state = 2 OR state = ?3) RETURNING id,"
      " channel",
      "UPDATE integrations_notifications SET state = $3, error ="
      " COALESCE($4, error), updated_at = $5 WHERE provider_message_id ="
      " $2 AND provider = $1 AND (state = 2 OR state = $3) RETURNING id,"
      " channel",
      5, { T_TEXT, T_TEXT, T_INT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_OUTBOX_PURGE: final rows past the retention;
     * attempts go with them
     */
    { "DELETE FROM integrations_notifications WHERE id IN (SELECT id"
      " FROM integrations_notifications WHERE created_at <= ?1 AND state"
      " >= 2 LIMIT ?2)",
      "DELETE FROM integrations_notifications WHERE id IN (SELECT id"
      " FROM integrations_notifications WHERE created_at <= $1 AND state"
      " >= 2 LIMIT $2)",
      2, { T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_OUTBOX_STATS */
    { "SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_attempt_at <= ?1"
      " THEN 1 ELSE 0 END), 0), COALESCE(MIN(next_attempt_at), 0) FROM"
      " integrations_notifications WHERE state <= 1",
      "SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_attempt_at <= $1"
      " THEN 1 ELSE 0 END), 0), COALESCE(MIN(next_attempt_at), 0) FROM"
      " integrations_notifications WHERE state <= 1",
      1, { T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_INSERT:
     * a new box, or nothing (RETURNING says which); $13 is now
     */
    { "INSERT INTO integrations_orders (vendor_id, shipment_box_id,"
      " order_id, api, coupang_status, state, contact_kind, contact,"
      " contact_source, buyer_name, ordered_at, paid_at, first_seen_at,"
      " items, links, unmapped, message_id, message_state, fulfil_state,"
      " fulfil_attempts, next_fulfil_at, created_at, updated_at) VALUES (?1,"
      " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
      " ?17, ?18, ?19, 0, ?13, ?13, ?13) ON CONFLICT (vendor_id,"
      " shipment_box_id) DO NOTHING RETURNING api",
      "INSERT INTO integrations_orders (vendor_id, shipment_box_id,"
      " order_id, api, coupang_status, state, contact_kind, contact,"
      " contact_source, buyer_name, ordered_at, paid_at, first_seen_at,"
      " items, links, unmapped, message_id, message_state, fulfil_state,"
      " fulfil_attempts, next_fulfil_at, created_at, updated_at) VALUES ($1,"
      " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
      " $17, $18, $19, 0, $13, $13, $13) ON CONFLICT (vendor_id,"
      " shipment_box_id) DO NOTHING RETURNING api",
      19, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_TEXT, T_INT, T_INT, T_TEXT,
            T_TEXT, T_TEXT, T_INT, T_INT, T_INT, T_INT, T_INT, T_INT, T_TEXT,
            T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_ORDER_ITEM_INSERT */
    { "INSERT INTO integrations_order_items (vendor_id, shipment_box_id,"
      " vendor_item_id, order_id, product_code, item_name, quantity,"
      " cancel_count, hold_count, links, state) VALUES (?1, ?2, ?3, ?4, ?5,"
      " ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (vendor_id, shipment_box_id,"
      " vendor_item_id) DO NOTHING",
      "INSERT INTO integrations_order_items (vendor_id, shipment_box_id,"
      " vendor_item_id, order_id, product_code, item_name, quantity,"
      " cancel_count, hold_count, links, state) VALUES ($1, $2, $3, $4, $5,"
      " $6, $7, $8, $9, $10, $11) ON CONFLICT (vendor_id, shipment_box_id,"
      " vendor_item_id) DO NOTHING",
      11, { T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT,
            T_INT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_ACTIVATION_INSERT: $10 is now */
    { "INSERT INTO integrations_activations (vendor_id, shipment_box_id,"
      " vendor_item_id, unit, units, order_id, product_code, state,"
      " token_hash, grant_state, grant_attempts, revoke_call_state,"
      " revoke_attempts, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5,"
      " ?6, ?7, ?8, ?9, 0, 0, 0, 0, ?10, ?10)",
      "INSERT INTO integrations_activations (vendor_id, shipment_box_id,"
      " vendor_item_id, unit, units, order_id, product_code, state,"
      " token_hash, grant_state, grant_attempts, revoke_call_state,"
      " revoke_attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5,"
      " $6, $7, $8, $9, 0, 0, 0, 0, $10, $10)",
      10, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_TEXT, T_TEXT, T_INT,
            T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_LINK_INSERT */
    { "INSERT INTO integrations_activation_links (token_hash, vendor_id,"
      " shipment_box_id, vendor_item_id, unit, generation, created_at,"
      " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      "INSERT INTO integrations_activation_links (token_hash, vendor_id,"
      " shipment_box_id, vendor_item_id, unit, generation, created_at,"
      " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      8, { T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_EVENT_INSERT */
    { "INSERT INTO integrations_order_events (vendor_id, shipment_box_id,"
      " vendor_item_id, unit, at, event, state, detail) VALUES (?1, ?2, ?3,"
      " ?4, ?5, ?6, ?7, ?8)",
      "INSERT INTO integrations_order_events (vendor_id, shipment_box_id,"
      " vendor_item_id, unit, at, event, state, detail) VALUES ($1, $2, $3,"
      " $4, $5, $6, $7, $8)",
      8, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_TEXT, T_INT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_CURSOR_GET */
    { "SELECT value FROM integrations_job_cursors WHERE name = ?1",
      "SELECT value FROM integrations_job_cursors WHERE name = $1",
      1, { T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_CURSOR_SET: forward only */
    { "INSERT INTO integrations_job_cursors (name, value, updated_at) VALUES"
      " (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
      " updated_at = excluded.updated_at WHERE integrations_job_cursors.value"
      " < excluded.value",
      "INSERT INTO integrations_job_cursors (name, value, updated_at) VALUES"
      " ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
      " updated_at = excluded.updated_at WHERE integrations_job_cursors.value"
      " < excluded.value",
      3, { T_TEXT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_DUE_NEXT:
     * the $3-th box due (one read transaction); check: its last
     * acknowledgement's answer was ambiguous ("check: ..."), look it up
     * singly before anything else
     */
    { "SELECT shipment_box_id, order_id, fulfil_state, fulfil_attempts,"
      " CASE WHEN fulfil_error LIKE 'check:%' THEN 1 ELSE 0 END FROM"
      " integrations_orders WHERE vendor_id = ?1 AND fulfil_state IN (1, 2)"
      " AND next_fulfil_at <= ?2 ORDER BY next_fulfil_at, shipment_box_id"
      " LIMIT 1 OFFSET ?3",
      "SELECT shipment_box_id, order_id, fulfil_state, fulfil_attempts,"
      " CASE WHEN fulfil_error LIKE 'check:%' THEN 1 ELSE 0 END FROM"
      " integrations_orders WHERE vendor_id = $1 AND fulfil_state IN (1, 2)"
      " AND next_fulfil_at <= $2 ORDER BY next_fulfil_at, shipment_box_id"
      " LIMIT 1 OFFSET $3",
      3, { T_TEXT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_ORDER_ITEM_NEXT: the $3-th item of a box */
    { "SELECT vendor_item_id FROM integrations_order_items WHERE vendor_id ="
      " ?1 AND shipment_box_id = ?2 ORDER BY vendor_item_id LIMIT 1 OFFSET ?3",
      "SELECT vendor_item_id FROM integrations_order_items WHERE vendor_id ="
      " $1 AND shipment_box_id = $2 ORDER BY vendor_item_id LIMIT 1 OFFSET $3",
      3, { T_TEXT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_FULFIL_SET:
     * only from the state the step started at; $9 now
     */
    { "UPDATE integrations_orders SET fulfil_state = ?4, fulfil_attempts ="
      " ?5, next_fulfil_at = ?6, fulfil_error = ?7, invoice_number ="
      " COALESCE(?8, invoice_number), acked_at = CASE WHEN ?4 = 2 THEN ?9"
      " ELSE acked_at END, invoiced_at = CASE WHEN ?4 = 3 THEN ?9 ELSE"
      " invoiced_at END, updated_at = ?9 WHERE vendor_id = ?1 AND"
      " shipment_box_id = ?2 AND fulfil_state = ?3",
      "UPDATE integrations_orders SET fulfil_state = $4, fulfil_attempts ="
      " $5, next_fulfil_at = $6, fulfil_error = $7, invoice_number ="
      " COALESCE($8, invoice_number), acked_at = CASE WHEN $4 = 2 THEN $9"
      " ELSE acked_at END, invoiced_at = CASE WHEN $4 = 3 THEN $9 ELSE"
      " invoiced_at END, updated_at = $9 WHERE vendor_id = $1 AND"
      " shipment_box_id = $2 AND fulfil_state = $3",
      9, { T_TEXT, T_TEXT, T_INT, T_INT, T_INT, T_INT, T_INT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_SET:
     * a queued message's outcome, once; $3 now.  The box's state moves
     * only from synced, the state a box has while its message (or a
     * resend, which makes its units synced) is queued: a buyer faster
     * than the outbox (redeemed), a return (revoked) or a failed grant
     * (failed) came later in the box's life and stays; the units that
     * follow the message are only the synced ones (ACTIVATIONS_SENT)
     */
    { "UPDATE integrations_orders SET message_state = ?2, sent_at = CASE"
      " WHEN ?2 = 2 THEN ?3 ELSE sent_at END, state = CASE WHEN state = 0"
      " THEN ?4 ELSE state END, fulfil_state = CASE WHEN fulfil_state = 0"
      " THEN ?5 ELSE fulfil_state END, next_fulfil_at = ?3, updated_at = ?3"
      " WHERE message_state = 1 AND message_id = ?1"
      " RETURNING vendor_id, shipment_box_id, state",
      "UPDATE integrations_orders SET message_state = $2, sent_at = CASE"
      " WHEN $2 = 2 THEN $3 ELSE sent_at END, state = CASE WHEN state = 0"
      " THEN $4 ELSE state END, fulfil_state = CASE WHEN fulfil_state = 0"
      " THEN $5 ELSE fulfil_state END, next_fulfil_at = $3, updated_at = $3"
      " WHERE message_state = 1 AND message_id = $1"
      " RETURNING vendor_id, shipment_box_id, state",
      5, { T_TEXT, T_INT, T_INT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_CANCEL: the buyer's message of
     * a box revoked whole, never to be sent (again); $3 now; once.  A
     * queued row (state 0) is given up at once (the answer: 4).  A row
     * being sent (1) is marked: its attempt's outcome stands if it is
     * sent, a retry of it ends cancelled instead (OUTBOX_FINISH), and a
     * claim never takes it again (OUTBOX_CANCEL_DUE); the answer 1.  On
     * PostgreSQL this UPDATE and a claim's or a FINISH's take the row's
     * lock in turn, each seeing the row the other left
     */
    { "UPDATE integrations_notifications SET cancel_requested ="
      " 'cancelled: the order was revoked', state = CASE WHEN state = 0"
      " THEN 4 ELSE state END, error = CASE WHEN state = 0 THEN"
      " 'cancelled: the order was revoked' ELSE error END, updated_at ="
      " ?3 WHERE state <= 1 AND cancel_requested IS NULL AND id ="
      " (SELECT message_id FROM integrations_orders WHERE vendor_id = ?1"
      " AND shipment_box_id = ?2 AND state = 4 AND message_state = 1)"
      " RETURNING id, state",
      "UPDATE integrations_notifications SET cancel_requested ="
      " 'cancelled: the order was revoked', state = CASE WHEN state = 0"
      " THEN 4 ELSE state END, error = CASE WHEN state = 0 THEN"
      " 'cancelled: the order was revoked' ELSE error END, updated_at ="
      " $3 WHERE state <= 1 AND cancel_requested IS NULL AND id ="
      " (SELECT message_id FROM integrations_orders WHERE vendor_id = $1"
      " AND shipment_box_id = $2 AND state = 4 AND message_state = 1)"
      " RETURNING id, state",
      3, { T_TEXT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_CANCELLED: the box follows its
     * cancelled message, once: ORDER_MESSAGES_SYNC no longer looks at it
     */
    { "UPDATE integrations_orders SET message_state = 4, updated_at = ?2"
      " WHERE message_state = 1 AND message_id = ?1"
      " RETURNING vendor_id, shipment_box_id, state",
      "UPDATE integrations_orders SET message_state = 4, updated_at = $2"
      " WHERE message_state = 1 AND message_id = $1"
      " RETURNING vendor_id, shipment_box_id, state",
      2, { T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_STATE: a box by its message */
    { "SELECT vendor_id, shipment_box_id, message_state FROM"
      " integrations_orders WHERE message_id = ?1",
      "SELECT vendor_id, shipment_box_id, message_state FROM"
      " integrations_orders WHERE message_id = $1",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACTIVATIONS_SENT:
     * the units still synced follow the message
     */
    { "UPDATE integrations_activations SET state = ?3, updated_at = ?4 WHERE"
      " vendor_id = ?1 AND shipment_box_id = ?2 AND state = 0",
      "UPDATE integrations_activations SET state = $3, updated_at = $4 WHERE"
      " vendor_id = $1 AND shipment_box_id = $2 AND state = 0",
      4, { T_TEXT, T_TEXT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_MARK_INSERT: new, or the old mark expired */
    { "INSERT INTO integrations_alert_marks (mark, at, expires_at) VALUES"
      " (?1, ?2, ?3) ON CONFLICT (mark) DO UPDATE SET at = excluded.at,"
      " expires_at = excluded.expires_at WHERE"
      " integrations_alert_marks.expires_at <= excluded.at",
      "INSERT INTO integrations_alert_marks (mark, at, expires_at) VALUES"
      " ($1, $2, $3) ON CONFLICT (mark) DO UPDATE SET at = excluded.at,"
      " expires_at = excluded.expires_at WHERE"
      " integrations_alert_marks.expires_at <= excluded.at",
      3, { T_TEXT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_INQUIRY_INSERT */
    { "INSERT INTO integrations_coupang_inquiries (vendor_id, inquiry_key,"
      " inquiry_at, reported_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT"
      " (vendor_id, inquiry_key) DO NOTHING",
      "INSERT INTO integrations_coupang_inquiries (vendor_id, inquiry_key,"
      " inquiry_at, reported_at) VALUES ($1, $2, $3, $4) ON CONFLICT"
      " (vendor_id, inquiry_key) DO NOTHING",
      4, { T_TEXT, T_TEXT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_RETURN_INSERT:
     * a receipt seen for the first time (RETURNING)
     */
    { "INSERT INTO integrations_coupang_returns (vendor_id, receipt_id,"
      " order_id, receipt_type, receipt_status, requested_at, first_seen_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (vendor_id,"
      " receipt_id) DO NOTHING RETURNING first_seen_at",
      "INSERT INTO integrations_coupang_returns (vendor_id, receipt_id,"
      " order_id, receipt_type, receipt_status, requested_at, first_seen_at)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (vendor_id,"
      " receipt_id) DO NOTHING RETURNING first_seen_at",
      7, { T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_RETURN_UNIT_NEXT:
     * the next unit a return takes, unredeemed first
     */
    { "SELECT shipment_box_id, unit, state FROM integrations_activations"
      " WHERE vendor_id = ?1 AND order_id = ?2 AND vendor_item_id = ?3 AND"
      " state <> 4 ORDER BY CASE WHEN state = 3 THEN 1 ELSE 0 END,"
      " shipment_box_id, unit LIMIT 1",
      "SELECT shipment_box_id, unit, state FROM integrations_activations"
      " WHERE vendor_id = $1 AND order_id = $2 AND vendor_item_id = $3 AND"
      " state <> 4 ORDER BY CASE WHEN state = 3 THEN 1 ELSE 0 END,"
      " shipment_box_id, unit LIMIT 1",
      3, { T_TEXT, T_TEXT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_ACTIVATION_REVOKE: $5 now */
    { "UPDATE integrations_activations SET state = 4, revoked_at = ?5,"
      " revoke_reason = ?6, receipt_id = ?7, revoke_call_state = ?8,"
      " revoke_attempts = 0, next_revoke_at = ?5, updated_at = ?5 WHERE"
      " vendor_id = ?1 AND shipment_box_id = ?2 AND vendor_item_id = ?3 AND"
      " unit = ?4 AND state <> 4",
      "UPDATE integrations_activations SET state = 4, revoked_at = $5,"
      " revoke_reason = $6, receipt_id = $7, revoke_call_state = $8,"
      " revoke_attempts = 0, next_revoke_at = $5, updated_at = $5 WHERE"
      " vendor_id = $1 AND shipment_box_id = $2 AND vendor_item_id = $3 AND"
      " unit = $4 AND state <> 4",
      8, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_TEXT, T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_LINKS_REVOKE: every live link of a unit */
    { "UPDATE integrations_activation_links SET revoked_at = ?5 WHERE"
      " vendor_id = ?1 AND shipment_box_id = ?2 AND vendor_item_id = ?3 AND"
      " unit = ?4 AND revoked_at IS NULL",
      "UPDATE integrations_activation_links SET revoked_at = $5 WHERE"
      " vendor_id = $1 AND shipment_box_id = $2 AND vendor_item_id = $3 AND"
      " unit = $4 AND revoked_at IS NULL",
      5, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_STATE_SET:
     * revoked (and not to fulfil) once all units are
     */
    { "UPDATE integrations_orders SET fulfil_state = CASE WHEN fulfil_state"
      " IN (0, 1, 2) AND NOT EXISTS (SELECT 1 FROM integrations_activations a"
      " WHERE a.vendor_id = ?1 AND a.shipment_box_id = ?2 AND a.state <> 4)"
      " THEN 5 ELSE fulfil_state END, state = CASE WHEN NOT EXISTS (SELECT 1"
      " FROM integrations_activations a WHERE a.vendor_id = ?1 AND"
      " a.shipment_box_id = ?2 AND a.state <> 4) THEN 4 ELSE state END,"
      " updated_at = ?3 WHERE vendor_id = ?1 AND shipment_box_id = ?2",
      "UPDATE integrations_orders SET fulfil_state = CASE WHEN fulfil_state"
      " IN (0, 1, 2) AND NOT EXISTS (SELECT 1 FROM integrations_activations a"
      " WHERE a.vendor_id = $1 AND a.shipment_box_id = $2 AND a.state <> 4)"
      " THEN 5 ELSE fulfil_state END, state = CASE WHEN NOT EXISTS (SELECT 1"
      " FROM integrations_activations a WHERE a.vendor_id = $1 AND"
      " a.shipment_box_id = $2 AND a.state <> 4) THEN 4 ELSE state END,"
      " updated_at = $3 WHERE vendor_id = $1 AND shipment_box_id = $2",
      3, { T_TEXT, T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_RETURN_WITHDRAW */
    { "UPDATE integrations_coupang_returns SET withdrawn_at = ?3 WHERE"
      " vendor_id = ?1 AND receipt_id = ?2 AND withdrawn_at IS NULL",
      "UPDATE integrations_coupang_returns SET withdrawn_at = $3 WHERE"
      " vendor_id = $1 AND receipt_id = $2 AND withdrawn_at IS NULL",
      3, { T_TEXT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_REVOKE_DUE_NEXT:
     * the $3-th activation_revoke call due
     */
    { "SELECT shipment_box_id, order_id, vendor_item_id, product_code,"
      " receipt_id, revoke_reason, unit, units, revoke_attempts FROM"
      " integrations_activations WHERE vendor_id = ?1 AND revoke_call_state ="
      " 1 AND next_revoke_at <= ?2 ORDER BY next_revoke_at, shipment_box_id,"
      " vendor_item_id, unit LIMIT 1 OFFSET ?3",
      "SELECT shipment_box_id, order_id, vendor_item_id, product_code,"
      " receipt_id, revoke_reason, unit, units, revoke_attempts FROM"
      " integrations_activations WHERE vendor_id = $1 AND revoke_call_state ="
      " 1 AND next_revoke_at <= $2 ORDER BY next_revoke_at, shipment_box_id,"
      " vendor_item_id, unit LIMIT 1 OFFSET $3",
      3, { T_TEXT, T_INT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_REVOKE_CALL_SET: only while the call is due */
    { "UPDATE integrations_activations SET revoke_call_state = ?5,"
      " revoke_attempts = ?6, next_revoke_at = ?7, updated_at = ?8 WHERE"
      " vendor_id = ?1 AND shipment_box_id = ?2 AND vendor_item_id = ?3 AND"
      " unit = ?4 AND revoke_call_state = 1",
      "UPDATE integrations_activations SET revoke_call_state = $5,"
      " revoke_attempts = $6, next_revoke_at = $7, updated_at = $8 WHERE"
      " vendor_id = $1 AND shipment_box_id = $2 AND vendor_item_id = $3 AND"
      " unit = $4 AND revoke_call_state = 1",
      8, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_INT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_DONE_NEXT: a queued buyer
     * message whose notification has an outcome (outbox states 2..5), and
     * 1 if that outcome is the cancellation ORDER_MESSAGE_CANCEL asked for
     */
    { "SELECT o.message_id, n.state, CASE WHEN n.state = 4 AND n.error ="
      " n.cancel_requested THEN 1 ELSE 0 END FROM integrations_orders o"
      " JOIN integrations_notifications n ON n.id = o.message_id"
      " WHERE o.message_state = 1 AND o.vendor_id = ?1 AND n.state >= 2"
      " LIMIT 1",
      "SELECT o.message_id, n.state, CASE WHEN n.state = 4 AND n.error ="
      " n.cancel_requested THEN 1 ELSE 0 END FROM integrations_orders o"
      " JOIN integrations_notifications n ON n.id = o.message_id"
      " WHERE o.message_state = 1 AND o.vendor_id = $1 AND n.state >= 2"
      " LIMIT 1",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_LINK_GET: a link by its hash: expires_at,
     * used, revoked, state, grant_state, grant_until, item_name, vendor_id,
     * shipment_box_id, vendor_item_id, unit, units, order_id, product_code
     */
    { "SELECT l.expires_at, CASE WHEN l.used_at IS NULL THEN 0 ELSE 1 "
      "END, CASE WHEN l.revoked_at IS NULL AND a.revoked_at IS NULL "
      "AND a.token_hash = l.token_hash THEN 0 ELSE 1 END, "
      "COALESCE(a.state, 4), COALESCE(a.grant_state, 0), "
      "COALESCE(a.grant_until, 0), i.item_name, l.vendor_id, "
      "l.shipment_box_id, l.vendor_item_id, l.unit, COALESCE(a.units, "
      "1), a.order_id, a.product_code FROM "
      "integrations_activation_links l LEFT JOIN "
      "integrations_activations a ON a.vendor_id = l.vendor_id AND "
      "a.shipment_box_id = l.shipment_box_id AND a.vendor_item_id = "
      "l.vendor_item_id AND a.unit = l.unit LEFT JOIN "
      "integrations_order_items i ON i.vendor_id = l.vendor_id AND "
      "i.shipment_box_id = l.shipment_box_id AND i.vendor_item_id = "
      "l.vendor_item_id WHERE l.token_hash = ?1",
      "SELECT l.expires_at, CASE WHEN l.used_at IS NULL THEN 0 ELSE 1 "
      "END, CASE WHEN l.revoked_at IS NULL AND a.revoked_at IS NULL "
      "AND a.token_hash = l.token_hash THEN 0 ELSE 1 END, "
      "COALESCE(a.state, 4), COALESCE(a.grant_state, 0), "
      "COALESCE(a.grant_until, 0), i.item_name, l.vendor_id, "
      "l.shipment_box_id, l.vendor_item_id, l.unit, COALESCE(a.units, "
      "1), a.order_id, a.product_code FROM "
      "integrations_activation_links l LEFT JOIN "
      "integrations_activations a ON a.vendor_id = l.vendor_id AND "
      "a.shipment_box_id = l.shipment_box_id AND a.vendor_item_id = "
      "l.vendor_item_id AND a.unit = l.unit LEFT JOIN "
      "integrations_order_items i ON i.vendor_id = l.vendor_id AND "
      "i.shipment_box_id = l.shipment_box_id AND i.vendor_item_id = "
      "l.vendor_item_id WHERE l.token_hash = $1",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_LINK_USE: the single-use guarantee: $2 is
     * now
     */
    { "UPDATE integrations_activation_links SET used_at = ?2 WHERE "
      "token_hash = ?1 AND used_at IS NULL AND revoked_at IS NULL AND "
      "expires_at > ?2 RETURNING vendor_id, shipment_box_id, "
      "vendor_item_id, unit",
      "UPDATE integrations_activation_links SET used_at = $2 WHERE "
      "token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND "
      "expires_at > $2 RETURNING vendor_id, shipment_box_id, "
      "vendor_item_id, unit",
      2, { T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_GRANT_TAKE: the unit's grant for an
     * attempt ($5 owner, $6 until, $7 now, $8 the link's hash): a first one,
     * or one whose attempt died; of a unit synced, link_sent, or failed
     * by its message (a failed grant is grant_state 3: never again)
     */
    { "UPDATE integrations_activations SET grant_state = 1, "
      "grant_owner = ?5, grant_until = ?6, grant_attempts = "
      "grant_attempts + 1, updated_at = ?7 WHERE vendor_id = ?1 AND "
      "shipment_box_id = ?2 AND vendor_item_id = ?3 AND unit = ?4 AND "
      "token_hash = ?8 AND revoked_at IS NULL AND state IN (0, 2, 5) "
      "AND (grant_state = 0 OR (grant_state = 1 AND grant_until <= ?7)) "
      "RETURNING state",
      "UPDATE integrations_activations SET grant_state = 1, "
      "grant_owner = $5, grant_until = $6, grant_attempts = "
      "grant_attempts + 1, updated_at = $7 WHERE vendor_id = $1 AND "
      "shipment_box_id = $2 AND vendor_item_id = $3 AND unit = $4 AND "
      "token_hash = $8 AND revoked_at IS NULL AND state IN (0, 2, 5) "
      "AND (grant_state = 0 OR (grant_state = 1 AND grant_until <= $7)) "
      "RETURNING state",
      8, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_INT, T_INT, T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_CONTACT_GET: a box's contact:
     * contact_kind, contact, order_id
     */
    { "SELECT contact_kind, contact, order_id FROM integrations_orders "
      "WHERE vendor_id = ?1 AND shipment_box_id = ?2",
      "SELECT contact_kind, contact, order_id FROM integrations_orders "
      "WHERE vendor_id = $1 AND shipment_box_id = $2",
      2, { T_TEXT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_ACT_EVENT_ADD: a line of an order's history */
    { "INSERT INTO integrations_order_events (vendor_id, "
      "shipment_box_id, vendor_item_id, unit, at, event, state, "
      "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      "INSERT INTO integrations_order_events (vendor_id, "
      "shipment_box_id, vendor_item_id, unit, at, event, state, "
      "detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      8, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_TEXT, T_INT, T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_UNIT_GET: a unit: state, grant_state,
     * grant_owner
     */
    { "SELECT state, grant_state, grant_owner FROM "
      "integrations_activations WHERE vendor_id = ?1 AND "
      "shipment_box_id = ?2 AND vendor_item_id = ?3 AND unit = ?4",
      "SELECT state, grant_state, grant_owner FROM "
      "integrations_activations WHERE vendor_id = $1 AND "
      "shipment_box_id = $2 AND vendor_item_id = $3 AND unit = $4",
      4, { T_TEXT, T_TEXT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_GRANT_SET: a grant's outcome, fenced by
     * its owner $5: $6 grant_state, $7 state, $8 now, $9 1:
     * activation_revoke due
     */
    { "UPDATE integrations_activations SET grant_state = ?6, state = "
      "?7, grant_owner = NULL, grant_until = NULL, granted_at = CASE "
      "WHEN ?6 = 2 THEN ?8 ELSE granted_at END, redeemed_at = CASE "
      "WHEN ?6 = 2 AND ?7 = 3 THEN ?8 ELSE redeemed_at END, "
      "revoke_call_state = CASE WHEN ?9 = 1 THEN 1 ELSE "
      "revoke_call_state END, next_revoke_at = CASE WHEN ?9 = 1 THEN "
      "?8 ELSE next_revoke_at END, updated_at = ?8 WHERE vendor_id = "
      "?1 AND shipment_box_id = ?2 AND vendor_item_id = ?3 AND unit = "
      "?4 AND grant_state = 1 AND grant_owner = ?5",
      "UPDATE integrations_activations SET grant_state = $6, state = "
      "$7, grant_owner = NULL, grant_until = NULL, granted_at = CASE "
      "WHEN $6 = 2 THEN $8 ELSE granted_at END, redeemed_at = CASE "
      "WHEN $6 = 2 AND $7 = 3 THEN $8 ELSE redeemed_at END, "
      "revoke_call_state = CASE WHEN $9 = 1 THEN 1 ELSE "
      "revoke_call_state END, next_revoke_at = CASE WHEN $9 = 1 THEN "
      "$8 ELSE next_revoke_at END, updated_at = $8 WHERE vendor_id = "
      "$1 AND shipment_box_id = $2 AND vendor_item_id = $3 AND unit = "
      "$4 AND grant_state = 1 AND grant_owner = $5",
      9, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_INT,
           T_INT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_ORDER_STATES: the states of a box's units
     * as a mask (distinct powers of two summed), and their count
     */
    { "SELECT COALESCE(SUM(DISTINCT (1 << state)), 0), COUNT(*) FROM "
      "integrations_activations WHERE vendor_id = ?1 AND "
      "shipment_box_id = ?2",
      "SELECT COALESCE(SUM(DISTINCT (1::BIGINT << state::INT)), "
      "0)::BIGINT, COUNT(*)::BIGINT FROM integrations_activations "
      "WHERE vendor_id = $1 AND shipment_box_id = $2",
      2, { T_TEXT, T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_ORDER_STATE_SET: a box's state ($3) from
     * its units'
     */
    { "UPDATE integrations_orders SET state = ?3, updated_at = ?4 "
      "WHERE vendor_id = ?1 AND shipment_box_id = ?2",
      "UPDATE integrations_orders SET state = $3, updated_at = $4 "
      "WHERE vendor_id = $1 AND shipment_box_id = $2",
      4, { T_TEXT, T_TEXT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_LIST: a page of boxes, newest first, as
     * one JSON array of [vendor_id, shipment_box_id, order_id, state,
     * contact_kind, contact, first_seen_at, units, redeemed, message_state,
     * sent_at, fulfil_state, updated_at, products]: $1 states mask, $2
     * since, $3 until, $4 1: after ($5 first_seen_at, $6 shipment_box_id),
     * $7 limit
     */
    { "SELECT COALESCE(json_group_array(json_array(vendor_id, "
      "shipment_box_id, order_id, state, contact_kind, contact, "
      "first_seen_at, units, redeemed, message_state, sent_at, "
      "fulfil_state, updated_at, products)), '[]') FROM (SELECT "
      "o.vendor_id, o.shipment_box_id, o.order_id, o.state, "
      "o.contact_kind, o.contact, o.first_seen_at, (SELECT COUNT(*) "
      "FROM integrations_activations a WHERE a.vendor_id = o.vendor_id "
      "AND a.shipment_box_id = o.shipment_box_id) AS units, (SELECT "
      "COUNT(*) FROM integrations_activations a WHERE a.vendor_id = "
      "o.vendor_id AND a.shipment_box_id = o.shipment_box_id AND "
      "a.state = 3) AS redeemed, o.message_state, o.sent_at, "
      "o.fulfil_state, o.updated_at, (SELECT group_concat(DISTINCT "
      "i.product_code) FROM integrations_order_items i WHERE "
      "i.vendor_id = o.vendor_id AND i.shipment_box_id = "
      "o.shipment_box_id) AS products FROM integrations_orders o WHERE "
      "(?4 = 0 OR o.first_seen_at < ?5 OR (o.first_seen_at = ?5 AND "
      "o.shipment_box_id < ?6)) AND (?2 < 0 OR o.first_seen_at >= ?2) "
      "AND (?3 < 0 OR o.first_seen_at < ?3) AND (?1 = 0 OR ((1 << "
      "o.state) & ?1) <> 0) ORDER BY o.first_seen_at DESC, "
      "o.shipment_box_id DESC LIMIT ?7)",
      "SELECT COALESCE(json_agg(json_build_array(vendor_id, "
      "shipment_box_id, order_id, state, contact_kind, contact, "
      "first_seen_at, units, redeemed, message_state, sent_at, "
      "fulfil_state, updated_at, products) ORDER BY first_seen_at "
      "DESC, shipment_box_id DESC), '[]')::TEXT FROM (SELECT "
      "o.vendor_id, o.shipment_box_id, o.order_id, o.state, "
      "o.contact_kind, o.contact, o.first_seen_at, (SELECT COUNT(*) "
      "FROM integrations_activations a WHERE a.vendor_id = o.vendor_id "
      "AND a.shipment_box_id = o.shipment_box_id) AS units, (SELECT "
      "COUNT(*) FROM integrations_activations a WHERE a.vendor_id = "
      "o.vendor_id AND a.shipment_box_id = o.shipment_box_id AND "
      "a.state = 3) AS redeemed, o.message_state, o.sent_at, "
      "o.fulfil_state, o.updated_at, (SELECT string_agg(DISTINCT "
      "i.product_code, ',') FROM integrations_order_items i WHERE "
      "i.vendor_id = o.vendor_id AND i.shipment_box_id = "
      "o.shipment_box_id) AS products FROM integrations_orders o WHERE "
      "($4 = 0 OR o.first_seen_at < $5 OR (o.first_seen_at = $5 AND "
      "o.shipment_box_id < $6)) AND ($2 < 0 OR o.first_seen_at >= $2) "
      "AND ($3 < 0 OR o.first_seen_at < $3) AND ($1 = 0 OR ((1::BIGINT "
      "<< o.state::INT) & $1) <> 0) ORDER BY o.first_seen_at DESC, "
      "o.shipment_box_id DESC LIMIT $7) x",
      7, { T_INT, T_INT, T_INT, T_INT, T_INT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_ORDER_BOXES: an order's boxes as one JSON
     * array of [vendor_id, shipment_box_id, order_id, state, contact_kind,
     * contact, contact_source, buyer_name, first_seen_at, ordered_at,
     * paid_at, message_state, sent_at, fulfil_state, acked_at, invoiced_at]
     */
    { "SELECT COALESCE(json_group_array(json_array(vendor_id, "
      "shipment_box_id, order_id, state, contact_kind, contact, "
      "contact_source, buyer_name, first_seen_at, ordered_at, paid_at, "
      "message_state, sent_at, fulfil_state, acked_at, invoiced_at)), "
      "'[]') FROM (SELECT * FROM integrations_orders WHERE order_id = "
      "?1 ORDER BY shipment_box_id LIMIT 100)",
      "SELECT COALESCE(json_agg(json_build_array(vendor_id, "
      "shipment_box_id, order_id, state, contact_kind, contact, "
      "contact_source, buyer_name, first_seen_at, ordered_at, paid_at, "
      "message_state, sent_at, fulfil_state, acked_at, invoiced_at) "
      "ORDER BY shipment_box_id), '[]')::TEXT FROM (SELECT * FROM "
      "integrations_orders WHERE order_id = $1 ORDER BY "
      "shipment_box_id LIMIT 100) x",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_ORDER_UNITS: an order's units with their
     * live links as one JSON array of [a.shipment_box_id, a.vendor_item_id,
     * a.unit, a.units, a.product_code, i.item_name, a.state, a.grant_state,
     * a.grant_attempts, a.granted_at, a.redeemed_at, a.revoked_at,
     * a.revoke_reason, l.generation, l.expires_at, l.used_at]
     */
    { "SELECT COALESCE(json_group_array(json_array(a.shipment_box_id, "
      "a.vendor_item_id, a.unit, a.units, a.product_code, i.item_name, "
      "a.state, a.grant_state, a.grant_attempts, a.granted_at, "
      "a.redeemed_at, a.revoked_at, a.revoke_reason, l.generation, "
      "l.expires_at, l.used_at)), '[]') FROM (SELECT * FROM "
      "integrations_activations WHERE order_id = ?1 ORDER BY "
      "shipment_box_id, vendor_item_id, unit LIMIT 1000) a LEFT JOIN "
      "integrations_order_items i ON i.vendor_id = a.vendor_id AND "
      "i.shipment_box_id = a.shipment_box_id AND i.vendor_item_id = "
      "a.vendor_item_id LEFT JOIN integrations_activation_links l ON "
      "l.token_hash = a.token_hash",
      "SELECT COALESCE(json_agg(json_build_array(a.shipment_box_id, "
      "a.vendor_item_id, a.unit, a.units, a.product_code, i.item_name, "
      "a.state, a.grant_state, a.grant_attempts, a.granted_at, "
      "a.redeemed_at, a.revoked_at, a.revoke_reason, l.generation, "
      "l.expires_at, l.used_at) ORDER BY a.shipment_box_id, "
      "a.vendor_item_id, a.unit), '[]')::TEXT FROM (SELECT * FROM "
      "integrations_activations WHERE order_id = $1 ORDER BY "
      "shipment_box_id, vendor_item_id, unit LIMIT 1000) a LEFT JOIN "
      "integrations_order_items i ON i.vendor_id = a.vendor_id AND "
      "i.shipment_box_id = a.shipment_box_id AND i.vendor_item_id = "
      "a.vendor_item_id LEFT JOIN integrations_activation_links l ON "
      "l.token_hash = a.token_hash",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_ORDER_EVENTS: an order's history, oldest
     * first, as one JSON array of [id, shipment_box_id, vendor_item_id,
     * unit, at, event, state, detail]
     */
    { "SELECT COALESCE(json_group_array(json_array(id, "
      "shipment_box_id, vendor_item_id, unit, at, event, state, "
      "detail)), '[]') FROM (SELECT e.* FROM integrations_order_events "
      "e JOIN integrations_orders o ON o.vendor_id = e.vendor_id AND "
      "o.shipment_box_id = e.shipment_box_id WHERE o.order_id = ?1 "
      "ORDER BY e.id LIMIT 1000) x",
      "SELECT COALESCE(json_agg(json_build_array(id, shipment_box_id, "
      "vendor_item_id, unit, at, event, state, detail) ORDER BY id), "
      "'[]')::TEXT FROM (SELECT e.* FROM integrations_order_events e "
      "JOIN integrations_orders o ON o.vendor_id = e.vendor_id AND "
      "o.shipment_box_id = e.shipment_box_id WHERE o.order_id = $1 "
      "ORDER BY e.id LIMIT 1000) x",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_UNIT_NEXT: an order's next unit after ($2,
     * $3, $4): vendor_id, shipment_box_id, vendor_item_id, unit, state,
     * product_code, units, item_name (a resend's new message names it)
     */
    { "SELECT a.vendor_id, a.shipment_box_id, a.vendor_item_id, a.unit, "
      "a.state, a.product_code, a.units, i.item_name FROM "
      "integrations_activations a LEFT JOIN integrations_order_items i ON "
      "i.vendor_id = a.vendor_id AND i.shipment_box_id = a.shipment_box_id "
      "AND i.vendor_item_id = a.vendor_item_id WHERE a.order_id = ?1 "
      "AND (a.shipment_box_id > ?2 OR (a.shipment_box_id = ?2 AND "
      "(a.vendor_item_id > ?3 OR (a.vendor_item_id = ?3 AND a.unit > ?4)))) "
      "ORDER BY a.shipment_box_id, a.vendor_item_id, a.unit LIMIT 1",
      "SELECT a.vendor_id, a.shipment_box_id, a.vendor_item_id, a.unit, "
      "a.state, a.product_code, a.units, i.item_name FROM "
      "integrations_activations a LEFT JOIN integrations_order_items i ON "
      "i.vendor_id = a.vendor_id AND i.shipment_box_id = a.shipment_box_id "
      "AND i.vendor_item_id = a.vendor_item_id WHERE a.order_id = $1 "
      "AND (a.shipment_box_id > $2 OR (a.shipment_box_id = $2 AND "
      "(a.vendor_item_id > $3 OR (a.vendor_item_id = $3 AND a.unit > $4)))) "
      "ORDER BY a.shipment_box_id, a.vendor_item_id, a.unit LIMIT 1",
      4, { T_TEXT, T_TEXT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_UNIT_REVOKE: a unit revoked by hand: $5
     * now, $6 the reason, $7 1: activation_revoke due
     */
    { "UPDATE integrations_activations SET state = 4, revoked_at = ?5, "
      "revoke_reason = ?6, revoke_call_state = CASE WHEN ?7 = 1 THEN 1 "
      "ELSE revoke_call_state END, next_revoke_at = CASE WHEN ?7 = 1 "
      "THEN ?5 ELSE next_revoke_at END, updated_at = ?5 WHERE "
      "vendor_id = ?1 AND shipment_box_id = ?2 AND vendor_item_id = ?3 "
      "AND unit = ?4",
      "UPDATE integrations_activations SET state = 4, revoked_at = $5, "
      "revoke_reason = $6, revoke_call_state = CASE WHEN $7 = 1 THEN 1 "
      "ELSE revoke_call_state END, next_revoke_at = CASE WHEN $7 = 1 "
      "THEN $5 ELSE next_revoke_at END, updated_at = $5 WHERE "
      "vendor_id = $1 AND shipment_box_id = $2 AND vendor_item_id = $3 "
      "AND unit = $4",
      7, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_LINKS_REVOKE: every live link of a unit
     * revoked ($5 now)
     */
    { "UPDATE integrations_activation_links SET revoked_at = ?5 WHERE "
      "vendor_id = ?1 AND shipment_box_id = ?2 AND vendor_item_id = ?3 "
      "AND unit = ?4 AND revoked_at IS NULL",
      "UPDATE integrations_activation_links SET revoked_at = $5 WHERE "
      "vendor_id = $1 AND shipment_box_id = $2 AND vendor_item_id = $3 "
      "AND unit = $4 AND revoked_at IS NULL",
      5, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_LINK_ADD: a unit's next link: $1 hash, $6
     * now, $7 expires_at
     */
    { "INSERT INTO integrations_activation_links (token_hash, "
      "vendor_id, shipment_box_id, vendor_item_id, unit, generation, "
      "created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5, "
      "COALESCE(MAX(generation), 0) + 1, ?6, ?7 FROM "
      "integrations_activation_links WHERE vendor_id = ?2 AND "
      "shipment_box_id = ?3 AND vendor_item_id = ?4 AND unit = ?5",
      "INSERT INTO integrations_activation_links (token_hash, "
      "vendor_id, shipment_box_id, vendor_item_id, unit, generation, "
      "created_at, expires_at) SELECT $1, $2, $3, $4, $5, "
      "COALESCE(MAX(generation), 0) + 1, $6, $7 FROM "
      "integrations_activation_links WHERE vendor_id = $2 AND "
      "shipment_box_id = $3 AND vendor_item_id = $4 AND unit = $5",
      7, { T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_UNIT_RESEND: a unit's live link replaced:
     * $5 hash, $6 state, $7 now
     */
    { "UPDATE integrations_activations SET token_hash = ?5, state = "
      "?6, grant_state = 0, grant_owner = NULL, grant_until = NULL, "
      "revoked_at = NULL, revoke_reason = NULL, updated_at = ?7 WHERE "
      "vendor_id = ?1 AND shipment_box_id = ?2 AND vendor_item_id = ?3 "
      "AND unit = ?4",
      "UPDATE integrations_activations SET token_hash = $5, state = "
      "$6, grant_state = 0, grant_owner = NULL, grant_until = NULL, "
      "revoked_at = NULL, revoke_reason = NULL, updated_at = $7 WHERE "
      "vendor_id = $1 AND shipment_box_id = $2 AND vendor_item_id = $3 "
      "AND unit = $4",
      7, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_TEXT, T_INT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_CONTACT_SET: a box's contact given by an
     * admin: $3 kind, $4 value, $5 source, $6 now
     */
    { "UPDATE integrations_orders SET contact_kind = ?3, contact = ?4, "
      "contact_source = ?5, updated_at = ?6 WHERE vendor_id = ?1 AND "
      "shipment_box_id = ?2",
      "UPDATE integrations_orders SET contact_kind = $3, contact = $4, "
      "contact_source = $5, updated_at = $6 WHERE vendor_id = $1 AND "
      "shipment_box_id = $2",
      6, { T_TEXT, T_TEXT, T_INT, T_TEXT, T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_ACT_FULFIL_DUE: redeemed before "sent" */
    { "UPDATE integrations_orders SET fulfil_state = 1, next_fulfil_at = ?3,"
      " updated_at = ?3 WHERE vendor_id = ?1 AND shipment_box_id = ?2"
      " AND fulfil_state = 0",
      "UPDATE integrations_orders SET fulfil_state = 1, next_fulfil_at = $3,"
      " updated_at = $3 WHERE vendor_id = $1 AND shipment_box_id = $2"
      " AND fulfil_state = 0",
      3, { T_TEXT, T_TEXT, T_INT } },

    /* INTEGRATIONS_STORE_STMT_ACT_ORDER_FIND: one box of an order */
    { "SELECT vendor_id, shipment_box_id FROM integrations_orders"
      " WHERE order_id = ?1 LIMIT 1",
      "SELECT vendor_id, shipment_box_id FROM integrations_orders"
      " WHERE order_id = $1 LIMIT 1",
      1, { T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_MESSAGE_GET: a box's last buyer message:
     * message_id, channel, provider, recipient, recipient_mask, template,
     * subject, body_text, body_html, variables, template_id, sms_type,
     * fallback
     */
    { "SELECT o.message_id, n.channel, n.provider, n.recipient,"
      " n.recipient_mask, n.template, n.subject, n.body_text, n.body_html,"
      " n.variables, n.template_id, n.sms_type, n.fallback"
      " FROM integrations_orders o JOIN integrations_notifications n"
      " ON n.id = o.message_id"
      " WHERE o.vendor_id = ?1 AND o.shipment_box_id = ?2",
      "SELECT o.message_id, n.channel, n.provider, n.recipient,"
      " n.recipient_mask, n.template, n.subject, n.body_text, n.body_html,"
      " n.variables, n.template_id, n.sms_type, n.fallback"
      " FROM integrations_orders o JOIN integrations_notifications n"
      " ON n.id = o.message_id"
      " WHERE o.vendor_id = $1 AND o.shipment_box_id = $2",
      2, { T_TEXT, T_TEXT } },

    /* INTEGRATIONS_STORE_STMT_ACT_LINK_UNIT: whose link a token was */
    { "SELECT vendor_item_id, unit FROM integrations_activation_links"
      " WHERE token_hash = ?1 AND vendor_id = ?2 AND shipment_box_id = ?3",
      "SELECT vendor_item_id, unit FROM integrations_activation_links"
      " WHERE token_hash = $1 AND vendor_id = $2 AND shipment_box_id = $3",
      3, { T_TEXT, T_TEXT, T_TEXT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_MESSAGE_SET: the box's message is new; a
     * box held for want of a contact or a message (not for an unmapped
     * item) waits for this one to be sent, then is fulfilled
     */
    { "UPDATE integrations_orders SET message_id = ?3, message_state = 1,"
      " fulfil_state = CASE WHEN fulfil_state = 6 AND unmapped = 0 THEN 0"
      " ELSE fulfil_state END, updated_at = ?4 WHERE vendor_id = ?1 AND"
      " shipment_box_id = ?2",
      "UPDATE integrations_orders SET message_id = $3, message_state = 1,"
      " fulfil_state = CASE WHEN fulfil_state = 6 AND unmapped = 0 THEN 0"
      " ELSE fulfil_state END, updated_at = $4 WHERE vendor_id = $1 AND"
      " shipment_box_id = $2",
      4, { T_TEXT, T_TEXT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_GRANT_DUE: the live link's hash of the
     * unit whose pending grant lapsed longest ago ($1 now), of the units
     * STMT_ACT_GRANT_TAKE would take
     */
    { "SELECT token_hash FROM integrations_activations WHERE grant_state "
      "= 1 AND grant_until <= ?1 AND revoked_at IS NULL AND state IN (0, "
      "2, 5) AND token_hash IS NOT NULL ORDER BY grant_until LIMIT 1",
      "SELECT token_hash FROM integrations_activations WHERE grant_state "
      "= 1 AND grant_until <= $1 AND revoked_at IS NULL AND state IN (0, "
      "2, 5) AND token_hash IS NOT NULL ORDER BY grant_until LIMIT 1",
      1, { T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_MESSAGE_QUEUE: ACT_MESSAGE_SET for a
     * resend's new message, only while the box is synced (its new links
     * live: nothing revoked it since the resend)
     */
    { "UPDATE integrations_orders SET message_id = ?3, message_state = 1,"
      " fulfil_state = CASE WHEN fulfil_state = 6 AND unmapped = 0 THEN 0"
      " ELSE fulfil_state END, updated_at = ?4 WHERE vendor_id = ?1 AND"
      " shipment_box_id = ?2 AND state = 0 RETURNING state",
      "UPDATE integrations_orders SET message_id = $3, message_state = 1,"
      " fulfil_state = CASE WHEN fulfil_state = 6 AND unmapped = 0 THEN 0"
      " ELSE fulfil_state END, updated_at = $4 WHERE vendor_id = $1 AND"
      " shipment_box_id = $2 AND state = 0 RETURNING state",
      4, { T_TEXT, T_TEXT, T_TEXT, T_INT } },

    /*
     * INTEGRATIONS_STORE_STMT_ACT_GRANT_DEFER: a pending grant whose last
     * attempt the limits refused lapses at $6 instead of at its lock's
     * end, fenced by its owner $5; only ever sooner; $7 now
     */
    { "UPDATE integrations_activations SET grant_until = ?6, updated_at ="
      " ?7 WHERE vendor_id = ?1 AND shipment_box_id = ?2 AND"
      " vendor_item_id = ?3 AND unit = ?4 AND grant_state = 1 AND"
      " grant_owner = ?5 AND grant_until > ?6",
      "UPDATE integrations_activations SET grant_until = $6, updated_at ="
      " $7 WHERE vendor_id = $1 AND shipment_box_id = $2 AND"
      " vendor_item_id = $3 AND unit = $4 AND grant_state = 1 AND"
      " grant_owner = $5 AND grant_until > $6",
      7, { T_TEXT, T_TEXT, T_TEXT, T_INT, T_INT, T_INT, T_INT } }
};


const integrations_store_sql_t *
integrations_store_sql(integrations_store_stmt_e stmt)
{
    if ((unsigned) stmt >= INTEGRATIONS_STORE_NSTMTS
        || sizeof(integrations_store_stmts) / sizeof(integrations_store_sql_t)
           != INTEGRATIONS_STORE_NSTMTS)
    {
        return NULL;
    }

    return &integrations_store_stmts[stmt];
}


const char *
integrations_store_sql_text(integrations_store_backend_e b,
    integrations_store_stmt_e stmt)
{
    const integrations_store_sql_t  *s;

    s = integrations_store_sql(stmt);

    if (s == NULL) {
        return NULL;
    }

    return (b == INTEGRATIONS_STORE_SQLITE) ? s->sqlite : s->postgresql;
}


int
integrations_store_sql_check(const char *text, char sigil, unsigned nparams)
{
    unsigned     n, seen;
    const char  *p;

    seen = 0;

    for (p = text; *p; p++) {

        if (*p == '\'') {
            /* no literals with a sigil inside: none are used */
            p = strchr(p + 1, '\'');
            if (p == NULL) {
                return -1;
            }

            continue;
        }

        if (*p != '?' && *p != '$') {
            continue;
        }

        if (*p != sigil || p[1] < '1' || p[1] > '9') {
            return -1;
        }

        n = 0;

        for (p++; *p >= '0' && *p <= '9'; p++) {
            n = n * 10 + (*p - '0');
        }

        p--;

        if (n == 0 || n > nparams || n > 31) {
            return -1;
        }

        seen |= 1u << (n - 1);
    }

    return (seen == ((nparams ? (1u << nparams) : 1u) - 1)) ? 0 : -1;
}


/* ---- operations -------------------------------------------------------- */

const char *
integrations_store_kind_name(integrations_store_kind_e kind)
{
    static const char  *names[] = {
        "probe", "idem_begin", "idem_finish", "idem_release", "idem_purge",
        "lease_acquire", "lease_release", "outbox_enqueue", "outbox_get",
        "outbox_claim", "outbox_finish", "outbox_receipt", "outbox_purge",
        "outbox_stats",
        "order_ingest", "cursor_get",
        "cursor_set", "order_due", "order_fulfil", "order_message", "mark",
        "return_apply", "return_withdraw", "revoke_due", "revoke_call",
        "order_messages_sync",
        "act_lookup", "act_redeem", "act_grant_finish", "act_list",
        "act_order", "act_revoke", "act_resend", "act_grant_sweep",
        "act_queue"
    };

    if ((unsigned) kind >= sizeof(names) / sizeof(names[0])) {
        return "unknown";
    }

    return names[kind];
}


const char *
integrations_store_notify_state_name(int state)
{
    static const char  *names[] = {
        "queued", "sending", "sent", "delivered", "failed", "unknown"
    };

    if (state < 0 || (size_t) state >= sizeof(names) / sizeof(names[0])) {
        return "unknown";
    }

    return names[state];
}


const char *
integrations_store_rc_name(integrations_store_rc_e rc)
{
    static const char  *names[] = {
        "ok", "unavailable", "timeout", "schema", "overload", "error"
    };

    if ((unsigned) rc >= sizeof(names) / sizeof(names[0])) {
        return "error";
    }

    return names[rc];
}


void
integrations_store_op_clear(integrations_store_op_t *op)
{
    free(op->result);
    op->result = NULL;
}
