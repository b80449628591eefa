package org.sighting.shell

import org.sighting.SightingException

/** What the reporter is told when an action fails: plain words, and what to do. */
fun userMessage(e: SightingException): String = when (e) {
    is SightingException.InvalidPhoto -> "This photo cannot be used. Please take it again."
    is SightingException.PhotoTooLarge -> "This photo is too large. Please take it again with the app's camera."
    is SightingException.InvalidLocation -> "The phone's location looks wrong. The photo can be sent without it."
    is SightingException.StorageFull -> "The phone is full. Free some space; reports already waiting are kept."
    is SightingException.KeyStore -> "The phone's secure storage is not available. Restart the phone and try again."
    is SightingException.Network -> "The organisation's server is not set up correctly in Settings."
    is SightingException.Crypto -> "Encryption failed. Nothing was sent. Please try again."
    is SightingException.InvalidInput -> "That did not work: ${e.reason}"
    is SightingException.Internal -> "Something went wrong inside the app. Your reports are kept."
}
