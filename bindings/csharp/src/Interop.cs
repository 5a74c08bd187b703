using System;
using System.Runtime.InteropServices;

namespace AaLogon
{
    /// <summary>Turns C API results into values and exceptions.</summary>
    internal static class Interop
    {
        /// <summary>A call that writes a caller-owned string (or nothing, on failure).</summary>
        internal delegate AaStatus StringCall(out IntPtr value, out IntPtr error);

        private delegate AaStatus ErrorStringCall(ErrorHandle error, out IntPtr text);

        /// <summary>Throws the exception for a failed call; frees the error either way.</summary>
        internal static void Check(AaStatus status, IntPtr error)
        {
            if (status != AaStatus.Ok)
            {
                throw ToException(status, error);
            }
            Discard(error);
        }

        /// <summary>
        /// The handle a constructor-like call wrote to its <c>out</c> parameter; on failure the
        /// (invalid) handle is disposed and the call's exception thrown.
        /// </summary>
        internal static T Created<T>(AaStatus status, T handle, IntPtr error) where T : SafeHandle
        {
            if (status != AaStatus.Ok && handle != null)
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
        internal static AaException ToException(AaStatus status, IntPtr error)
        {
            string message = null, msgid = null, reason = null;
            int? httpStatus = null;
            DeviceCodeKind? deviceCodeKind = null;
            uint? deviceCode = null;
            if (error != IntPtr.Zero)
            {
                using (var handle = new ErrorHandle(error))
                {
                    message = ErrorString(NativeMethods.aa_error_message, handle);
                    msgid = ErrorString(NativeMethods.aa_error_msgid, handle);
                    reason = ErrorString(NativeMethods.aa_error_reason, handle);
                    ushort http;
                    if (NativeMethods.aa_error_http_status(handle, out http) == AaStatus.Ok)
                    {
                        httpStatus = http;
                    }
                    DeviceCodeKind kind;
                    uint code;
                    if (NativeMethods.aa_error_device_code(handle, out kind, out code) == AaStatus.Ok)
                    {
                        deviceCodeKind = kind;
                        deviceCode = code;
                    }
                }
            }
            if (string.IsNullOrEmpty(message))
            {
                message = StatusText(status);
            }
            AaException exception = AaException.Create(status, message, msgid, httpStatus, reason);
            exception.DeviceCodeKind = deviceCodeKind;
            exception.DeviceCode = deviceCode;
            return exception;
        }

        /// <summary>One string of an error, or null when it has none.</summary>
        private static string ErrorString(ErrorStringCall call, ErrorHandle error)
        {
            IntPtr text;
            return call(error, out text) == AaStatus.Ok ? Utf8.Take(text) : null;
        }

        /// <summary>The library's static description of a status code.</summary>
        internal static string StatusText(AaStatus status)
        {
            LibraryLoader.EnsureLoaded();
            return Utf8.Copy(NativeMethods.aa_status_str((uint)status));
        }

        /// <summary>Runs a string-returning call; throws on any failure.</summary>
        internal static string GetString(StringCall call)
        {
            IntPtr value, error;
            AaStatus status = call(out value, out error);
            Check(status, error);
            return Utf8.Take(value);
        }

        /// <summary>Runs a string-returning call; null when the value is not available.</summary>
        internal static string GetOptionalString(StringCall call)
        {
            IntPtr value, error;
            AaStatus status = call(out value, out error);
            if (status == AaStatus.NotAvailable)
            {
                Discard(error);
                return null;
            }
            Check(status, error);
            return Utf8.Take(value);
        }
    }
}
