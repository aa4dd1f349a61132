/*
 * The order sync's words: the buyer's message as a notification request
 * (the JSON body POST /notifications takes, for
 * ngx_http_integrations_notify_prepare()) and the staff's alert texts.
 * Pure core: no nginx, no clock, no I/O.
 *
 * The buyer's message carries every link of the box, one line each; with
 * a notify_template it is rendered from the data
 *     {"shop": "...", "product": first product, "link": first link,
 *      "links": every "product: link" line, "count": N,
 *      "expires": "2025-10-01" (a KST date)}
 * and without one it is that text inline.  Alerts never hold a contact or
 * a link: the buyer's name is masked, ids are Coupang's.
 */

#ifndef INTEGRATIONS_ACTIVATION_MESSAGE_H
#define INTEGRATIONS_ACTIVATION_MESSAGE_H

#include <stddef.h>
#include <stdint.h>


typedef struct {
    const char  *product;        /* vendorItemName */
    size_t       product_len;
    const char  *url;            /* activation_link_base + token */
    size_t       url_len;
    unsigned     unit;           /* 1-based */
    unsigned     units;          /* of its line */
} integrations_act_msg_link_t;

typedef struct {
    const char                         *channel;     /* a notify channel */
    const char                         *template_name;  /* NULL: inline */
    const char                         *to;          /* the contact */
    size_t                              to_len;
    const char                         *key;         /* idempotency key */
    size_t                              key_len;
    const char                         *shop;
    size_t                              shop_len;
    int                                 email;       /* subject + text */
    int                                 fallback;    /* AlimTalk -> SMS */
    const integrations_act_msg_link_t  *links;
    size_t                              nlinks;
    int64_t                             expires_at;  /* unix s */
} integrations_act_message_t;

/*
 * The notification request's JSON (malloc()ed, NUL-terminated), or NULL
 * (no link, no channel, a string that is not UTF-8, no memory).
 */
char *integrations_act_message_json(const integrations_act_message_t *m,
    size_t *len);


typedef enum {
    INTEGRATIONS_ACT_ALERT_NEW_ORDER = 0,
    INTEGRATIONS_ACT_ALERT_NO_CONTACT,
    INTEGRATIONS_ACT_ALERT_UNMAPPED,
    INTEGRATIONS_ACT_ALERT_MESSAGE_REFUSED,   /* the channel refused it */
    INTEGRATIONS_ACT_ALERT_FULFIL_FAILED,     /* ack or invoice gave up */
    INTEGRATIONS_ACT_ALERT_RETURN,            /* links revoked */
    INTEGRATIONS_ACT_ALERT_WITHDRAWN,         /* a return withdrawn */
    INTEGRATIONS_ACT_ALERT_REVOKE_FAILED      /* activation_revoke gave up */
} integrations_act_alert_e;

typedef struct {
    const char  *box;            /* shipmentBoxId */
    size_t       box_len;
    const char  *order;          /* orderId */
    size_t       order_len;
    const char  *buyer;          /* the orderer's name: masked here */
    size_t       buyer_len;
    const char  *product;        /* a product name, or NULL */
    size_t       product_len;
    const char  *detail;         /* a code ("INVALID_STATUS"), or NULL */
    size_t       detail_len;
    unsigned     count;          /* links, units revoked */
} integrations_act_alert_t;

/* One line of Slack text (malloc()ed), or NULL. */
char *integrations_act_alert_text(integrations_act_alert_e kind,
    const integrations_act_alert_t *a, size_t *len);

#endif /* INTEGRATIONS_ACTIVATION_MESSAGE_H */
