using System;
using System.Collections.Generic;
using System.Text;

namespace AaLogon
{
    /// <summary>
    /// JSON built straight into one UTF-8 buffer the caller wipes, for values that are secrets
    /// (security-question answers): no intermediate string holds them, and every byte array used on
    /// the way is wiped.
    /// </summary>
    internal static class SecretJson
    {
        private static readonly Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>
        /// A NUL-terminated UTF-8 JSON object of the given names and string values, for a
        /// <c>const char *</c> parameter. Wipe it after the call (<see cref="Utf8.Wipe"/>).
        /// </summary>
        internal static byte[] ObjectOfStrings(IEnumerable<KeyValuePair<string, string>> members, string parameterName)
        {
            var parts = new List<byte[]>();
            try
            {
                int length = 2 + 1; // {} and the NUL
                foreach (KeyValuePair<string, string> member in members)
                {
                    byte[] name = Encode(member.Key, parameterName);
                    parts.Add(name);
                    byte[] value = Encode(member.Value, parameterName);
                    parts.Add(value);
                    length += EscapedLength(name) + EscapedLength(value) + 1 + (parts.Count > 2 ? 1 : 0);
                }
                var json = new byte[length];
                int at = 0;
                json[at++] = (byte)'{';
                for (int i = 0; i < parts.Count; i += 2)
                {
                    if (i > 0)
                    {
                        json[at++] = (byte)',';
                    }
                    at = WriteEscaped(parts[i], json, at);
                    json[at++] = (byte)':';
                    at = WriteEscaped(parts[i + 1], json, at);
                }
                json[at++] = (byte)'}';
                json[at] = 0;
                return json;
            }
            finally
            {
                foreach (byte[] part in parts)
                {
                    Utf8.Wipe(part);
                }
            }
        }

        private static byte[] Encode(string text, string parameterName)
        {
            if (text == null)
            {
                throw new ArgumentNullException(parameterName, "A name or value is null.");
            }
            if (text.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("A name or value contains a NUL character.", parameterName);
            }
            try
            {
                return Strict.GetBytes(text);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException("A name or value is not valid UTF-16 (unpaired surrogate).", parameterName, e);
            }
        }

        /// <summary>The length of <paramref name="utf8"/> as a quoted JSON string.</summary>
        private static int EscapedLength(byte[] utf8)
        {
            int length = 2;
            foreach (byte b in utf8)
            {
                length += b == (byte)'"' || b == (byte)'\\' ? 2 : b < 0x20 ? 6 : 1;
            }
            return length;
        }

        private static int WriteEscaped(byte[] utf8, byte[] json, int at)
        {
            const string Hex = "0123456789abcdef";
            json[at++] = (byte)'"';
            foreach (byte b in utf8)
            {
                if (b == (byte)'"' || b == (byte)'\\')
                {
                    json[at++] = (byte)'\\';
                    json[at++] = b;
                }
                else if (b < 0x20)
                {
                    json[at++] = (byte)'\\';
                    json[at++] = (byte)'u';
                    json[at++] = (byte)'0';
                    json[at++] = (byte)'0';
                    json[at++] = (byte)Hex[b >> 4];
                    json[at++] = (byte)Hex[b & 0xf];
                }
                else
                {
                    json[at++] = b;
                }
            }
            json[at++] = (byte)'"';
            return at;
        }
    }
}
