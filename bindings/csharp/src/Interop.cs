using System;
using System.Runtime.InteropServices;

namespace AaLogon
{
    /// <summary>Turns C API results into values and exceptions.</summary>
    internal static class Interop
    {
        /// <summary>A call that writes a caller-owned string (or nothing, on failure).</summary>
        internal delegate uint StringCall(out IntPtr value, out IntPtr error);

        private delegate uint ErrorStringCall(ErrorHandle error, out IntPtr text);

        /// <summary>Throws the exception for a failed call; frees the error either way.</summary>
        internal static void Check(uint status, IntPtr error)
        {
            if (status != NativeMethods.StatusOk)
            {
                throw ToException(status, error);
            }
            Discard(error);
        }

        /// <summary>
        /// The handle a constructor-like call wrote to its <c>out</c> parameter; on failure the
        /// (invalid) handle is disposed and the call's exception thrown.
        /// </summary>
        internal static T Created<T>(uint status, T handle, IntPtr error) where T : SafeHandle
        {
            if (status != NativeMethods.StatusOk && handle != null)
            {
                handle.Dispose();
            }
            Check(status, error);
            return handle;
        }

        /// <summary>Frees an error that will not be reported.</summary>
        internal static void Discard(IntPtr error)
        {
            if (error != IntPtr.Zero)
            {
                NativeMethods.aa_error_free(error);
            }
        }

        /// <summary>Reads everything <paramref name="error"/> says, frees it, and builds the typed exception.</summary>
        internal static AaException ToException(uint status, IntPtr error)
        {
            string message = null, msgid = null, reason = null;
            int? httpStatus = null;
            if (error != IntPtr.Zero)
            {
                using (var handle = new ErrorHandle(error))
                {
                    message = ErrorString(NativeMethods.aa_error_message, handle);
                    msgid = ErrorString(NativeMethods.aa_error_msgid, handle);
                    reason = ErrorString(NativeMethods.aa_error_reason, handle);
                    ushort http;
                    if (NativeMethods.aa_error_http_status(handle, out http) == NativeMethods.StatusOk)
                    {
                        httpStatus = http;
                    }
                }
            }
            if (string.IsNullOrEmpty(message))
            {
                message = StatusText(status);
            }
            return AaException.Create((AaStatus)status, message, msgid, httpStatus, reason);
        }

        /// <summary>One string of an error, or null when it has none.</summary>
        private static string ErrorString(ErrorStringCall call, ErrorHandle error)
        {
            IntPtr text;
            return call(error, out text) == NativeMethods.StatusOk ? Utf8.Take(text) : null;
        }

        /// <summary>The library's static description of a status code.</summary>
        internal static string StatusText(uint status)
        {
            return Utf8.Copy(NativeMethods.aa_status_str(status));
        }

        /// <summary>Runs a string-returning call; throws on any failure.</summary>
        internal static string GetString(StringCall call)
        {
            IntPtr value, error;
            uint status = call(out value, out error);
            Check(status, error);
            return Utf8.Take(value);
        }

        /// <summary>Runs a string-returning call; null when the value is not available.</summary>
        internal static string GetOptionalString(StringCall call)
        {
            IntPtr value, error;
            uint status = call(out value, out error);
            if (status == NativeMethods.StatusNotAvailable)
            {
                Discard(error);
                return null;
            }
            Check(status, error);
            return Utf8.Take(value);
        }
    }
}
