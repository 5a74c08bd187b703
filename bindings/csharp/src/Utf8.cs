using System;
using System.Runtime.InteropServices;
using System.Text;

namespace AaLogon
{
    /// <summary>
    /// UTF-8 marshalling done by hand: <c>UnmanagedType.LPUTF8Str</c> and
    /// <c>Marshal.PtrToStringUTF8</c> are missing from netstandard2.0 and from some Mono profiles.
    /// </summary>
    internal static class Utf8
    {
        private static readonly Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>
        /// A NUL-terminated UTF-8 copy of <paramref name="value"/> for a <c>const char *</c>
        /// parameter. Rejects null and embedded NUL characters, which C would silently truncate at.
        /// </summary>
        internal static byte[] Encode(string value, string parameterName)
        {
            if (value == null)
            {
                throw new ArgumentNullException(parameterName);
            }
            if (value.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("The string must not contain NUL characters.", parameterName);
            }
            byte[] bytes;
            try
            {
                bytes = new byte[Strict.GetByteCount(value) + 1];
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException("The string is not valid UTF-16 (unpaired surrogate).", parameterName, e);
            }
            Strict.GetBytes(value, 0, value.Length, bytes, 0);
            return bytes;
        }

        /// <summary>Overwrites a secret's UTF-8 copy once the library has taken its own.</summary>
        internal static void Wipe(byte[] bytes)
        {
            if (bytes != null)
            {
                Array.Clear(bytes, 0, bytes.Length);
            }
        }

        /// <summary>Copies a NUL-terminated UTF-8 string the library owns (static or borrowed).</summary>
        internal static string Copy(IntPtr str)
        {
            if (str == IntPtr.Zero)
            {
                return null;
            }
            int length = 0;
            while (Marshal.ReadByte(str, length) != 0)
            {
                length++;
            }
            var bytes = new byte[length];
            Marshal.Copy(str, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Copies a string the caller owns, then frees it through <c>aa_string_free</c>.</summary>
        internal static string Take(IntPtr str)
        {
            if (str == IntPtr.Zero)
            {
                return null;
            }
            try
            {
                return Copy(str);
            }
            finally
            {
                NativeMethods.aa_string_free(str);
            }
        }
    }
}
