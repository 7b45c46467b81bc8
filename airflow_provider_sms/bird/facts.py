"""What Bird's Channels API allows, in one place: the message checks, the client and the sandbox
all read it from here. Standard library only.

Facts that Bird's published schema states (vendored in ``schema/``) are checked against it by
the test suite; the others cite the page that documents them."""

from __future__ import annotations

import re

DEFAULT_BASE_URL = "https://api.bird.com"

# -- identifiers ----------------------------------------------------------------------------

# Workspace, channel, template project and version ids are UUIDs (path parameters
# `format: uuid`, https://docs.bird.com/api/channels-api/api-reference/messaging).
UUID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

# -- CreateMessage (schema: components.schemas.CreateMessage) ---------------------------------

# Every top-level field of CreateMessage. `receiver` is required; exactly one of `body` and
# `template` is sent (the schema's anyOf, tightened by the docs: "set body for every outbound
# message except template sends").
MESSAGE_FIELDS = frozenset(
    {
        "sender",
        "receiver",
        "reference",
        "template",
        "meta",
        "replyTo",
        "body",
        "notification",
        "capFrequency",
        "enableLinkTracking",
        "ignoreQuietHours",
        "ignoreGlobalHoldout",
        "tags",
        "shortLinks",
        "scheduledFor",
        "validity",
    }
)
# The fields a caller may add beside the receiver and the content.
MESSAGE_OPTION_FIELDS = MESSAGE_FIELDS - {"receiver", "body", "template"}

# Body types (schema: BodyTypes); SMS channels send text, and MMS media.
BODY_TYPES = frozenset(
    {
        "text",
        "html",
        "image",
        "file",
        "gif",
        "location",
        "carousel",
        "list",
        "section",
        "authentication",
        "template",
        "action",
    }
)
MMS_BODY_TYPES = frozenset({"image", "file", "gif"})

# Up to 10 media URLs per message, the MMS attachment limit too. Not in the schema, whose
# `minLength` on the media arrays constrains nothing
# (https://docs.bird.com/api/channels-api/supported-channels/programmable-sms/sending-sms-messages,
# https://docs.bird.com/applications/enable-channels/sms/mms).
MAX_MEDIA = 10

# MMS sizes (https://docs.bird.com/applications/enable-channels/sms/mms): at most 600 KB an
# attachment and 900 KB a message after Bird's resizing, which it attempts (best effort) for
# images and GIFs up to 5 MB. Bird does not say whether a KB is 1000 or 1024 bytes: the
# smaller reading is taken, so that nothing accepted here is too large there.
MMS_MAX_ATTACHMENT_BYTES = 600_000
MMS_MAX_TOTAL_BYTES = 900_000
MMS_MAX_RESIZABLE_BYTES = 5_000_000
# Image types Bird's MMS guidance lists
# (https://docs.bird.com/applications/campaigns/sms-campaigns/concepts/best-practices-for-mms-campaigns).
MMS_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
# A file uploaded through a presigned upload (`POST .../presigned-upload`, then the multipart
# POST to its `uploadUrl`) is at most 100 MiB
# (https://docs.bird.com/api/conversations-api/api-reference/conversations-messaging/create-pre-signed-upload;
# the Channels API's variants answer the same shape).
MAX_MEDIA_UPLOAD_BYTES = 100 * 1024 * 1024

# Tags (schema: Tags, Name-3): at most 10 a message, each 1 to 50 characters. Bird writes the
# character class as [a-zA-Z0-9-_ ], where "9-_" is a range that also admits ":;<=>?@[\]^";
# the description says "alphanumeric characters, hyphens, underscores, and spaces", which is
# what TAG_PATTERN allows: anything it accepts, Bird's pattern accepts too.
MAX_TAGS = 10
MAX_TAG_LENGTH = 50
BIRD_TAG_PATTERN = "^[a-zA-Z0-9-_ ]+$"
TAG_PATTERN = re.compile(r"[A-Za-z0-9_\- ]+")

# Bird documents no maximum text length; the provider sends at most this many characters,
# the bound SMS platforms commonly keep (ten and more concatenated segments).
MAX_TEXT_LENGTH = 1600

# `reference` is a free string in the schema; the provider keeps it to this length so that
# it stays usable as a lookup key.
MAX_REFERENCE_LENGTH = 256

# Template parameter types (schema: TemplateParameter, a oneOf keyed on `type`); the scalar
# ones carry a JSON value of that type, all others an object.
TEMPLATE_PARAMETER_SCALAR_TYPES = frozenset({"string", "number", "boolean"})
TEMPLATE_PARAMETER_TYPES = frozenset(
    {
        *TEMPLATE_PARAMETER_SCALAR_TYPES,
        "object",
        "sectionList",
        "timeslotList",
        "productSections",
        "productList",
        "shippingMethodList",
        "lineItemList",
        "whatsappProductSections",
        "whatsappProductItems",
    }
)
TEMPLATE_PARAMETER_FIELDS = frozenset({"type", "key", "value"})

# `scheduledFor` more than 35 days ahead is rejected (schema: ScheduledFor, description).
MAX_SCHEDULE_AHEAD_DAYS = 35

# Message statuses (schema: Status-3).
MESSAGE_STATUSES = frozenset(
    {
        "accepted",
        "rejected",
        "processing",
        "scheduled",
        "sent",
        "sending_failed",
        "delivered",
        "delivery_failed",
        "deleted",
        "skipped",
    }
)
# What a wait for delivery ends on by default. `scheduled` waits for its scheduledFor time;
# `skipped` (suppressed: quiet hours, holdout, capping) and `deleted` never deliver, so they
# count as failures unless a wait lists them as successes (API-NOTES section 5).
DEFAULT_SUCCESS_STATUSES = ("delivered",)
DEFAULT_FAILURE_STATUSES = ("delivery_failed", "sending_failed", "rejected", "skipped", "deleted")
NEVER_DELIVERED_STATUSES = frozenset({"skipped", "deleted"})

# US carriers' caps on 10DLC traffic: a message over one fails, and Bird still charges for
# it (Bird's 10DLC pages). Carrier code -> (its name, what it means). Bird does not document
# where in the message the code goes (API-NOTES [I]): it is looked for in the failure code,
# the failure's source code and the reason's text (bird.objects.carrier_cap).
CARRIER_CAP_CODES = {
    "106": ("EC_CAMPAIGN_VOLUME_EXCEEDED", "T-Mobile's daily cap of messages per brand"),
    "107": ("EC_CAMPAIGN_THROUGHPUT_EXCEEDED", "AT&T's cap on a campaign's throughput"),
}

# MMS is only available on numbers purchased for the United States and Canada
# (https://docs.bird.com/api/channels-api/supported-channels/programmable-sms).
MMS_REGIONS = frozenset({"US", "CA"})

# -- other endpoints --------------------------------------------------------------------------

# POST .../batch/messages takes 1 to 100 messageRequests
# (https://docs.bird.com/api/channels-api/send-batch-messages).
MAX_BATCH_SIZE = 100

# Listing messages: `limit` defaults to 10, at most 100, paged by `pageToken`
# (https://docs.bird.com/api/api-access/common-api-usage); channels: see below.
DEFAULT_LIST_LIMIT = 10
MAX_LIST_LIMIT = 100

# Per-workspace rate limits; a 429 means the request was not processed
# (https://docs.bird.com/api/channels-api/rate-limit).
MAX_POSTS_PER_SECOND = 500
MAX_GETS_PER_SECOND = 50

# Listing channels: `limit` up to 1000 (listChannels,
# https://docs.bird.com/api/channels-api/api-reference/channels/list-channels); listing messages
# stays at MAX_LIST_LIMIT.
MAX_CHANNEL_LIST_LIMIT = 1000

# -- delivery options (schema: CreateChannelMessage's properties) -----------------------------

# `validity`: whole seconds a message stays valid, at least 0 (schema: Validity, `type:
# integer`, `minimum: 0`). Without it Bird uses the channel's message type: 36 hours for
# promotional, conversational and transactional channels, 10 minutes for 2FA ones (its
# description).
MIN_VALIDITY_SECONDS = 0
# Bird documents no maximum, and its schema types `validity` as an `integer` with no
# `format`, which some decoders hold in 32 bits: the largest value every reading accepts (68
# years). Above it, the request could fail or be read otherwise.
MAX_VALIDITY_SECONDS = 2**31 - 1
DEFAULT_VALIDITY_SECONDS = 129600
DEFAULT_2FA_VALIDITY_SECONDS = 600

# `shortLinks.domain`: at most 128 characters, "default" for the workspace's default
# link-shortening domain (schema: ShortLinks). Templates have their own `shortLinks`
# {enabled, domain} (schema: Template.shortLinks; ShortLinks' description sends template
# sends there).
MAX_SHORT_LINK_DOMAIN_LENGTH = 128
DEFAULT_SHORT_LINK_DOMAIN = "default"
# `enableLinkTracking` on SMS channels needs `shortLinks` in the same message: a newer text of
# Bird's schema says so (seen in a third-party copy of it, MindCloud's docs; the vendored copy
# only says the field appends web-tracking parameters), so the provider refuses the one
# without the other rather than let Bird ignore it.
LINK_TRACKING_NEEDS_SHORT_LINKS = True

# `notification.url`: "a custom webhook url to send events to" (schema: Notification,
# titled ChannelNotification); a webhook subscription must exist (Notifications API,
# https://docs.bird.com/api/notifications-api). The schema gives no length; the provider
# keeps URLs to this many characters, the common limit of web servers and proxies.
MAX_NOTIFICATION_URL_LENGTH = 2048

# `meta.extraInformation` is a free object (schema: Meta.extraInformation,
# `additionalProperties: true`). Bird documents no size; the provider keeps it to this many
# bytes of compact JSON, since it is stored with every message.
MAX_EXTRA_INFORMATION_BYTES = 4096

# Template `utmParameters`: 1 to 8 items, each a `key` (1-20 characters) with either a
# static `value` (1-100 characters) or a `reference` to a dynamic value (schema:
# Template.utmParameters, a oneOf of the two shapes).
MIN_UTM_PARAMETERS = 1
MAX_UTM_PARAMETERS = 8
MAX_UTM_KEY_LENGTH = 20
MAX_UTM_VALUE_LENGTH = 100
UTM_REFERENCES = frozenset({"platform_name", "channel_name"})
