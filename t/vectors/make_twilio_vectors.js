// Makes t/vectors/twilio.json with the official twilio package (twilio-node
// 6.3.1, the first line that reads X-Twilio-Webhooks-Signature-Settings):
//
//   npm install twilio@6.3.1 && node t/vectors/make_twilio_vectors.js \
//       > t/vectors/twilio.json
//
// Every signature below is the SDK's getExpectedTwilioSignature(), and is
// checked with the SDK's own validateRequest() / validateRequestWithBody()
// before it is written.  The tests read the JSON; they never run node.

"use strict";

const twilio = require("twilio");
const wh = require("twilio/lib/webhooks/webhooks");
const querystring = require("querystring");
const version = require("twilio/package.json").version;

const url = "https://hooks.example.com/twilio-sk";
const query = "tenant=a";
const signedUrl = url + "?" + query;
const sharedKey = "whsk_shared_key_secret_for_the_gateway";
const authToken = "12345";
const settings =
    "key=webhooks_sharedkey_01J9Z8Y7X6W5V4T3S2R1Q0P9N8,algorithm=HMAC_SHA256";

// a form body with what trips encoders: a space, '+', '&', '=', UTF-8
const params = {
  AccountSid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  Body: "héllo + wörld & more = ✓",
  From: "+14158675309",
  MessageSid: "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
  To: "+18005551212",
};
const form = querystring.stringify(params);

function check(ok, what) {
  if (!ok) {
    throw new Error("the SDK does not validate its own vector: " + what);
  }
}

const vectors = [];

// SharedKey, HMAC-SHA256, form body
{
  const alg = wh.getSignatureAlgorithm(settings);
  const sig = wh.getExpectedTwilioSignature(sharedKey, signedUrl, params, alg);
  check(alg === "HMAC_SHA256", "algorithm from the settings header");
  check(twilio.validateRequest(sharedKey, sig, signedUrl, params, alg),
        "sha256 form");
  check(!twilio.validateRequest(sharedKey, sig, signedUrl, params,
                                "HMAC_SHA1"), "sha256 form as sha1");
  vectors.push({
    name: "sharedkey_sha256_form",
    algorithm: alg,
    secret: sharedKey,
    url: url,
    query: query,
    headers: {
      "X-Twilio-Signature": sig,
      "X-Twilio-Webhooks-Signature-Settings": settings,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: form,
  });
}

// SharedKey, HMAC-SHA256, JSON body: the URL carries bodySHA256
{
  const body = JSON.stringify({ sid: "MMcccccccccccccccccccccccccccccccc",
                                status: "delivered" });
  const q = query + "&bodySHA256=" + wh.getExpectedBodyHash(body);
  const u = url + "?" + q;
  const alg = wh.getSignatureAlgorithm(settings);
  const sig = wh.getExpectedTwilioSignature(sharedKey, u, {}, alg);
  check(twilio.validateRequestWithBody(sharedKey, sig, u, body, alg),
        "sha256 json");
  vectors.push({
    name: "sharedkey_sha256_json",
    algorithm: alg,
    secret: sharedKey,
    url: url,
    query: q,
    headers: {
      "X-Twilio-Signature": sig,
      "X-Twilio-Webhooks-Signature-Settings": settings,
      "Content-Type": "application/json",
    },
    body: body,
  });
}

// the Auth Token, HMAC-SHA1, no settings header: what auto falls back to
{
  const alg = wh.getSignatureAlgorithm(undefined);
  const sig = wh.getExpectedTwilioSignature(authToken, signedUrl, params, alg);
  check(alg === "HMAC_SHA1", "no header means HMAC_SHA1");
  check(twilio.validateRequest(authToken, sig, signedUrl, params),
        "sha1 form");
  vectors.push({
    name: "authtoken_sha1_form",
    algorithm: alg,
    secret: authToken,
    url: url,
    query: query,
    headers: {
      "X-Twilio-Signature": sig,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: form,
  });
}

process.stdout.write(JSON.stringify({
  source: "twilio-node " + version + " (npm twilio), lib/webhooks/webhooks.js:"
          + " getSignatureAlgorithm, getExpectedTwilioSignature,"
          + " getExpectedBodyHash; checked with validateRequest and"
          + " validateRequestWithBody",
  vectors: vectors,
}, null, 2) + "\n");
