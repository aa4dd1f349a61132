/*
 * SendGrid v3 Mail Send: see integrations_sendgrid.h.
 */

#include <string.h>

#include "integrations_notify.h"
#include "integrations_json.h"
#include "integrations_sendgrid.h"


static void integrations_sendgrid_address(integrations_notify_gen_t *j,
    const char *email, size_t elen, const char *name, size_t nlen);


char *
integrations_sendgrid_body(const integrations_sendgrid_message_t *m,
    size_t *len, const char **why)
{
    size_t                     i;
    integrations_notify_gen_t  j;

    if (m->from_email_len == 0 || m->to_email_len == 0
        || m->subject_len == 0 || (m->text_len == 0 && m->html_len == 0))
    {
        *why = "from, to, subject, and text or html are needed";
        return NULL;
    }

    for (i = 0; i < m->from_name_len; i++) {
        if ((unsigned char) m->from_name[i] >= 0x80
            || (unsigned char) m->from_name[i] < 0x20)
        {
            *why = "SendGrid takes no Unicode in the from name";
            return NULL;
        }
    }

    if (m->to_name_len
        && (memchr(m->to_name, ';', m->to_name_len)
            || memchr(m->to_name, ',', m->to_name_len)))
    {
        *why = "SendGrid takes no \";\" or \",\" in a recipient's name";
        return NULL;
    }

    integrations_notify_gen_init(&j);

    integrations_notify_gen_map(&j, 1);

    integrations_notify_gen_cstr(&j, "personalizations");
    integrations_notify_gen_array(&j, 1);
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_cstr(&j, "to");
    integrations_notify_gen_array(&j, 1);
    integrations_sendgrid_address(&j, m->to_email, m->to_email_len,
                                  m->to_name, m->to_name_len);
    integrations_notify_gen_array(&j, 0);

    if (m->ref_len) {
        integrations_notify_gen_cstr(&j, "custom_args");
        integrations_notify_gen_map(&j, 1);
        integrations_notify_gen_key(&j, "ref", m->ref, m->ref_len);
        integrations_notify_gen_map(&j, 0);
    }

    integrations_notify_gen_map(&j, 0);
    integrations_notify_gen_array(&j, 0);

    integrations_notify_gen_cstr(&j, "from");
    integrations_sendgrid_address(&j, m->from_email, m->from_email_len,
                                  m->from_name, m->from_name_len);

    if (m->reply_to_len) {
        integrations_notify_gen_cstr(&j, "reply_to");
        integrations_sendgrid_address(&j, m->reply_to, m->reply_to_len, NULL,
                                      0);
    }

    integrations_notify_gen_key(&j, "subject", m->subject, m->subject_len);

    /* text/plain first: each type at most once */

    integrations_notify_gen_cstr(&j, "content");
    integrations_notify_gen_array(&j, 1);

    if (m->text_len) {
        integrations_notify_gen_map(&j, 1);
        integrations_notify_gen_key(&j, "type", "text/plain", 10);
        integrations_notify_gen_key(&j, "value", m->text, m->text_len);
        integrations_notify_gen_map(&j, 0);
    }

    if (m->html_len) {
        integrations_notify_gen_map(&j, 1);
        integrations_notify_gen_key(&j, "type", "text/html", 9);
        integrations_notify_gen_key(&j, "value", m->html, m->html_len);
        integrations_notify_gen_map(&j, 0);
    }

    integrations_notify_gen_array(&j, 0);
    integrations_notify_gen_map(&j, 0);

    *why = "a field is not UTF-8";

    return integrations_notify_gen_done(&j, len);
}


static void
integrations_sendgrid_address(integrations_notify_gen_t *j,
    const char *email, size_t elen, const char *name, size_t nlen)
{
    integrations_notify_gen_map(j, 1);
    integrations_notify_gen_key(j, "email", email, elen);

    if (nlen) {
        integrations_notify_gen_key(j, "name", name, nlen);
    }

    integrations_notify_gen_map(j, 0);
}


int
integrations_sendgrid_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    size_t                       n;
    yajl_val                     root, e;
    const char                  *s;

    if (integrations_notify_classify_transport(r, res)) {
        return res->outcome;
    }

    integrations_notify_classify_status(r, res);

    if (r->status >= 200 && r->status < 300) {
        /* accepted: the id only helps to match the Event Webhook */

        if (r->message_id_len) {
            integrations_notify_copy_id(res->message_id,
                                        sizeof(res->message_id),
                                        r->message_id, r->message_id_len);
        }

        return res->outcome;
    }

    root = integrations_notify_answer_json(r);
    if (root == NULL) {
        return res->outcome;
    }

    e = integrations_json_get(root, "errors");

    if (e != NULL && YAJL_IS_ARRAY(e) && e->u.array.len > 0) {
        e = e->u.array.values[0];

        if (integrations_notify_json_field(e, "message", 0, &s, &n) == 0)
        {
            integrations_notify_copy_text(res->text, sizeof(res->text), s, n);
        }

        if (integrations_notify_json_field(e, "field", 0, &s, &n) == 0)
        {
            integrations_notify_copy_text(res->code, sizeof(res->code), s, n);
        }
    }

    yajl_tree_free(root);

    return res->outcome;
}
