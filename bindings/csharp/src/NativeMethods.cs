using System;
using System.Runtime.InteropServices;

namespace AaLogon
{
    /// <summary>
    /// The P/Invoke declarations of include/aa_logon.h. Conventions: every import is Cdecl; statuses
    /// and enum inputs are <c>uint</c>; strings in are NUL-terminated UTF-8 <c>byte[]</c> (see
    /// <see cref="Utf8"/>); strings out are <c>IntPtr</c> owned by the caller and freed with
    /// <c>aa_string_free</c>; static strings are <c>IntPtr</c> and never freed; handles are
    /// <see cref="SafeHandle"/> subclasses, errors a raw <c>IntPtr</c> wrapped in an
    /// <see cref="ErrorHandle"/> right after the call. The C API has no <c>bool</c> parameter; any
    /// future one must be marshalled with <c>[MarshalAs(UnmanagedType.U1)]</c>.
    /// </summary>
    internal static class NativeMethods
    {
        /// <summary>The library name: libaa_logon.so on Linux, aa_logon.dll on Windows, libaa_logon.dylib on macOS.</summary>
        internal const string Library = "aa_logon";

        internal const uint StatusOk = 0;
        internal const uint StatusNotAvailable = 9;

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void PromptCallback(IntPtr userdata, uint prompt);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogCallback(IntPtr userdata, uint level, IntPtr message);

        // Library-wide.

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_live_objects(out UIntPtr count);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_string_free(IntPtr str);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr aa_status_str(uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr aa_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_set_log_callback(LogCallback callback, IntPtr userdata, uint maxLevel);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr aa_log_level_str(uint level);

        // Client options.

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_new(byte[] baseUrl, byte[] endpointId, byte[] endpointSecret,
            out ClientOptionsHandle options, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_set_ca_file(ClientOptionsHandle options, byte[] path, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_set_pinned_public_key(ClientOptionsHandle options, byte[] sha256Hex,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_set_timeouts(ClientOptionsHandle options, uint connectTimeoutMs,
            uint requestTimeoutMs, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_set_proxy(ClientOptionsHandle options, byte[] proxyUrl, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_set_user_agent(ClientOptionsHandle options, byte[] userAgent,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_set_max_response_bytes(ClientOptionsHandle options,
            ulong maxResponseBytes, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_danger_disable_tls_verification(ClientOptionsHandle options,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_options_free(IntPtr options);

        // Client.

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_new(ClientOptionsHandle options, out ClientHandle client, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_free(IntPtr client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_chains_json(ClientHandle client, byte[] userName, byte[] eventName,
            out IntPtr chainsJson, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_login_session_json(ClientHandle client, byte[] loginSessionId,
            out IntPtr sessionJson, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_logout(ClientHandle client, byte[] loginSessionId, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_devices_json(ClientHandle client, out IntPtr devicesJson, out IntPtr error);

        // Errors.

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_error_status(ErrorHandle error, out uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_error_message(ErrorHandle error, out IntPtr message);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_error_http_status(ErrorHandle error, out ushort httpStatus);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_error_msgid(ErrorHandle error, out IntPtr msgid);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_error_reason(ErrorHandle error, out IntPtr reason);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_error_free(IntPtr error);

        // Logon.

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_new(ClientHandle client, byte[] userName, byte[] eventName, byte[] methodId,
            out LogonHandle logon, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_free(IntPtr logon);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_gather_sign_request(LogonHandle logon, out IntPtr signRequestJson,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_sign_request_count(LogonHandle logon, out UIntPtr count, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_sign_request_field(LogonHandle logon, UIntPtr index, uint field,
            out IntPtr value, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_sign_with_device(LogonHandle logon, uint timeoutMs, PromptCallback prompt,
            IntPtr userdata, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_sign_response_json(LogonHandle logon, out IntPtr signResponseJson,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_forward_sign_response(LogonHandle logon, byte[] signResponseJson,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_answer(LogonHandle logon, byte[] answer, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_request_challenge(LogonHandle logon, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_next(LogonHandle logon, byte[] methodId, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_abort(LogonHandle logon, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_cancel(LogonHandle logon);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_server_status(LogonHandle logon, out uint status, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_message(LogonHandle logon, out IntPtr message, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_reason(LogonHandle logon, out IntPtr reason, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_msgid(LogonHandle logon, out IntPtr msgid, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_current_method(LogonHandle logon, out IntPtr method, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_process_id(LogonHandle logon, out IntPtr processId, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_login_session_id(LogonHandle logon, out IntPtr loginSessionId,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_user_field(LogonHandle logon, byte[] fieldName, out IntPtr value,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_completed_methods_json(LogonHandle logon, out IntPtr methodsJson,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_chains_json(LogonHandle logon, out IntPtr chainsJson, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_logon_response_json(LogonHandle logon, out IntPtr responseJson, out IntPtr error);

        // Test-only virtual key (present only in libraries built with the virtual-device feature).

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_virtual_key_new(byte[] seed, out VirtualKeyHandle key, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_virtual_key_set_presence(VirtualKeyHandle key, uint presence, uint delayMs,
            out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_virtual_key_touch(VirtualKeyHandle key, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_virtual_key_counter(VirtualKeyHandle key, out uint counter, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_virtual_key_free(IntPtr key);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_attach_virtual_key(ClientHandle client, VirtualKeyHandle key, out IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint aa_client_detach_virtual_key(ClientHandle client, VirtualKeyHandle key, out IntPtr error);
    }
}
