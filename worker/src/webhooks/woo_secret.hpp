// WooCommerce signs its webhooks with the secret passed through WordPress's
// wp_specialchars_decode($secret, ENT_QUOTES) (WC_Webhook::generate_signature),
// so "&amp;" in a stored secret is "&" in the key. The worker decodes the
// configured secret the same way; decoding is a no-op on a secret without
// entities, so the secret as stored and as shown in the admin both work.
#pragma once

#include <string>
#include <string_view>

namespace stocksync::worker::webhooks {

// wp_specialchars_decode(text, ENT_QUOTES): &amp; &lt; &gt; &quot; and the
// numeric forms of & < > " ' (decimal with any zero padding, hex with x or X),
// in one left-to-right pass ("&amp;lt;" becomes "&lt;").
std::string wp_specialchars_decode_quotes(std::string_view text);

}  // namespace stocksync::worker::webhooks
