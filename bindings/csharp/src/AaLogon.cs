using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace AaLogon
{
    /// <summary>
    /// One logon process, started with <see cref="AaClient.StartLogon"/>. Use it from one thread
    /// at a time; only <see cref="Cancel"/> (and the <see cref="CancellationToken"/> given to
    /// <see cref="SignWithDevice"/>) may be used from another thread while a call runs — other
    /// concurrent calls fail with <see cref="MisuseException"/> (<see cref="AaStatus.HandleBusy"/>).
    /// Each step returns the server's verdict: <see cref="LogonStatus.Next"/> means go on with
    /// <see cref="Next"/>, <see cref="LogonStatus.Ok"/> means logged on. A rejection throws
    /// <see cref="LogonFailedException"/>.
    /// </summary>
    /// <remarks>
    /// The class shares its name with the namespace; outside the namespace write <c>var</c>, or
    /// add <c>using Logon = AaLogon.AaLogon;</c>.
    /// </remarks>
    public sealed class AaLogon : IDisposable
    {
        // One static trampoline for every call, so the delegate the library holds can never be
        // collected; each call's state travels through userdata as a GCHandle.
        private static readonly NativeMethods.aa_prompt_callback PromptTrampoline = OnPrompt;

        private readonly LogonHandle _handle;
        private int _runningSigns;

        internal AaLogon(LogonHandle handle)
        {
            _handle = handle;
        }

        private LogonHandle Handle
        {
            get { return _handle.OrDisposed(nameof(AaLogon)); }
        }

        /// <summary>The server's verdict after the last exchange.</summary>
        public LogonStatus Status
        {
            get
            {
                LogonStatus status;
                IntPtr error;
                Interop.Check(NativeMethods.aa_logon_server_status(Handle, out status, out error), error);
                return status;
            }
        }

        /// <summary>The server's message of the last answer (e.g. "Welcome").</summary>
        public string Message
        {
            get { return GetString(NativeMethods.aa_logon_message); }
        }

        /// <summary>The server's reason of the last answer (e.g. "PASSWORD_WRONG"), or null when empty.</summary>
        public string Reason
        {
            get { return GetOptionalString(NativeMethods.aa_logon_reason); }
        }

        /// <summary>The server's message id of the last answer (e.g. "AUCORE-2007"), or null when empty.</summary>
        public string Msgid
        {
            get { return GetOptionalString(NativeMethods.aa_logon_msgid); }
        }

        /// <summary>The method the server expects now (e.g. "U2F:1").</summary>
        public string CurrentMethod
        {
            get { return GetString(NativeMethods.aa_logon_current_method); }
        }

        /// <summary>The logon process id on the server.</summary>
        public string ProcessId
        {
            get { return GetString(NativeMethods.aa_logon_process_id); }
        }

        /// <summary>The login session id once the server answered <see cref="LogonStatus.Ok"/>; null before.</summary>
        public string LoginSessionId
        {
            get { return GetOptionalString(NativeMethods.aa_logon_login_session_id); }
        }

        /// <summary>
        /// The last signResponse sent to the server as JSON (<c>keyHandle</c>, <c>clientData</c>,
        /// <c>signatureData</c>, base64url), or null before one was sent.
        /// </summary>
        public string SignResponseJson
        {
            get { return GetOptionalString(NativeMethods.aa_logon_sign_response_json); }
        }

        /// <summary>The method ids completed so far (e.g. "LDAP_PASSWORD:1").</summary>
        public IReadOnlyList<string> CompletedMethods
        {
            get
            {
                string json = GetString(NativeMethods.aa_logon_completed_methods_json);
                return Json.ToStrings(Json.Parse(json), "the completed methods");
            }
        }

        /// <summary>The chains the server offers for this logon.</summary>
        public IReadOnlyList<Chain> Chains
        {
            get
            {
                string json = GetString(NativeMethods.aa_logon_chains_json);
                return Json.ToList(Json.Parse(json), "the chains", Chain.FromJson);
            }
        }

        /// <summary>The server's last answer exactly as received (a JSON object), for fields without a property.</summary>
        public string ResponseJson
        {
            get { return GetString(NativeMethods.aa_logon_response_json); }
        }

        /// <summary>
        /// A <c>user_*</c> field of the last answer by its AA name ("user_name", "user_id",
        /// "user_email", "user_sid", …), or null when the server did not send it.
        /// </summary>
        public string GetUserField(string fieldName)
        {
            byte[] name = Utf8.Encode(fieldName, nameof(fieldName));
            LogonHandle handle = Handle;
            return Interop.GetOptionalString((out IntPtr value, out IntPtr error) =>
                NativeMethods.aa_logon_user_field(handle, name, out value, out error));
        }

        /// <summary>
        /// Every <c>user_*</c> field of the last answer (and <c>repo_id</c>, <c>tenant_name</c>) by its
        /// AA name, read in one call: what <see cref="GetUserField"/> gives one at a time. Numbers and
        /// booleans come as text; empty before the server sent any.
        /// </summary>
        public IReadOnlyDictionary<string, string> GetUserFields()
        {
            string json = GetString(NativeMethods.aa_logon_user_json);
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, object> field in Json.AsObject(Json.Parse(json), "the user fields"))
            {
                var value = field.Value as string;
                if (value == null)
                {
                    throw new MalformedServerDataException("The user field " + field.Key + " is not a string.");
                }
                fields.Add(field.Key, value);
            }
            return fields;
        }

        /// <summary>
        /// Asks the server for the U2F sign request of the current method (which must be U2F:1):
        /// one entry per security key enrolled for the user. Only needed to sign elsewhere and
        /// <see cref="ForwardSignResponse"/>; <see cref="SignWithDevice"/> gathers it itself.
        /// </summary>
        /// <exception cref="MisuseException">The current method is not U2F:1 (<see cref="AaStatus.InvalidState"/>).</exception>
        public IReadOnlyList<SignRequest> GatherSignRequest()
        {
            string json = GetString(NativeMethods.aa_logon_gather_sign_request);
            var answer = Json.AsObject(Json.Parse(json), "the sign request");
            return Json.GetList(answer, "signRequests", SignRequest.FromJson);
        }

        /// <summary>
        /// The whole U2F step in one blocking call: gathers the sign request (unless already
        /// gathered), waits for a security key that owns one of its key handles and for the user's
        /// touch, forwards the signature and returns the server's verdict (<see cref="LogonStatus.Ok"/>
        /// or <see cref="LogonStatus.Next"/>).
        /// </summary>
        /// <param name="timeout">How long to wait for a key and a touch; <see cref="TimeSpan.Zero"/> means the library's default (30 s).</param>
        /// <param name="prompt">
        /// Told what the user should do (a <see cref="T:AaLogon.Prompt"/> value); called on this thread during
        /// the call, must return promptly. If it throws, the wait is cancelled and the exception
        /// is rethrown from this method once the library has returned. May be null.
        /// </param>
        /// <param name="cancellationToken">Cancels the wait, from any thread, within about 100 ms.</param>
        /// <exception cref="CancelledException">Cancelled through <see cref="Cancel"/> or <paramref name="cancellationToken"/>; the logon stays usable.</exception>
        /// <exception cref="NoDeviceException">No security key appeared before the timeout.</exception>
        /// <exception cref="NoMatchingKeyException">No present key is enrolled for the user.</exception>
        /// <exception cref="UserPresenceTimeoutException">The key was not touched before the timeout.</exception>
        /// <exception cref="LogonFailedException">The server rejected the signature.</exception>
        public LogonStatus SignWithDevice(TimeSpan timeout, Action<Prompt> prompt = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            uint timeoutMs = timeout == TimeSpan.Zero ? 0 : AaClientOptions.ToMilliseconds(timeout, nameof(timeout));
            LogonHandle handle = Handle;
            var call = new PromptCall(prompt, handle);
            GCHandle callHandle = GCHandle.Alloc(call);
            AaStatus status;
            IntPtr error;
            Interlocked.Increment(ref _runningSigns);
            try
            {
                using (cancellationToken.CanBeCanceled
                           ? cancellationToken.Register(CancelQuietly)
                           : default(CancellationTokenRegistration))
                {
                    status = NativeMethods.aa_logon_sign_with_device(handle, timeoutMs,
                        prompt == null ? null : PromptTrampoline, GCHandle.ToIntPtr(callHandle), out error);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _runningSigns);
                callHandle.Free();
            }
            if (call.Failure != null)
            {
                Interop.Discard(error);
                ExceptionDispatchInfo.Capture(call.Failure).Throw();
            }
            Interop.Check(status, error);
            return Status;
        }

        /// <summary>
        /// Cancels a running <see cref="SignWithDevice"/> of this logon (or, if none runs, the next
        /// one). Safe to call from any thread.
        /// </summary>
        public void Cancel()
        {
            Interop.Check(NativeMethods.aa_logon_cancel(Handle), IntPtr.Zero);
        }

        /// <summary>
        /// Forwards a signResponse produced elsewhere (JSON <c>{"keyHandle","clientData","signatureData"}</c>,
        /// base64url) and returns the server's verdict.
        /// </summary>
        /// <exception cref="LogonFailedException">The server rejected the signature.</exception>
        public LogonStatus ForwardSignResponse(string signResponseJson)
        {
            byte[] json = Utf8.Encode(signResponseJson, nameof(signResponseJson));
            IntPtr error;
            Interop.Check(NativeMethods.aa_logon_forward_sign_response(Handle, json, out error), error);
            return Status;
        }

        /// <summary>
        /// Answers the current method: a password (PASSWORD:1, LDAP_PASSWORD:1), a one-time code
        /// (TOTP:1, HOTP:1) or the code received by SMS or e-mail. The library wipes its copy after
        /// sending, as does this method with its UTF-8 copy.
        /// </summary>
        /// <returns>The server's verdict: <see cref="LogonStatus.Next"/>, <see cref="LogonStatus.Ok"/> or <see cref="LogonStatus.MoreData"/>.</returns>
        /// <exception cref="LogonFailedException">The server rejected the answer (e.g. AUCORE-2007, PASSWORD_WRONG).</exception>
        public LogonStatus Answer(string answer)
        {
            byte[] secret = Utf8.Encode(answer, nameof(answer));
            AaStatus status;
            IntPtr error;
            try
            {
                status = NativeMethods.aa_logon_answer(Handle, secret, out error);
            }
            finally
            {
                Utf8.Wipe(secret);
            }
            Interop.Check(status, error);
            return Status;
        }

        /// <summary>
        /// Asks the server to go on without an answer: makes SMS_OTP:1 and EMAIL_OTP:1 send their
        /// code, or polls an out-of-band method.
        /// </summary>
        public LogonStatus RequestChallenge()
        {
            IntPtr error;
            Interop.Check(NativeMethods.aa_logon_request_challenge(Handle, out error), error);
            return Status;
        }

        /// <summary>After <see cref="LogonStatus.Next"/>, moves on to <paramref name="methodId"/>, the chain's next method.</summary>
        public LogonStatus Next(string methodId)
        {
            byte[] method = Utf8.Encode(methodId, nameof(methodId));
            IntPtr error;
            Interop.Check(NativeMethods.aa_logon_next(Handle, method, out error), error);
            return Status;
        }

        /// <summary>Aborts the logon process on the server. The logon must still be disposed.</summary>
        public void Abort()
        {
            IntPtr error;
            Interop.Check(NativeMethods.aa_logon_abort(Handle, out error), error);
        }

        /// <summary>
        /// Frees the logon (without aborting it on the server; call <see cref="Abort"/> first if
        /// needed). A <see cref="SignWithDevice"/> running on another thread is cancelled, and the
        /// native logon is freed when it has returned.
        /// </summary>
        public void Dispose()
        {
            if (Volatile.Read(ref _runningSigns) > 0)
            {
                CancelQuietly();
            }
            _handle.Dispose();
        }

        private void CancelQuietly()
        {
            try
            {
                if (!_handle.IsClosed)
                {
                    NativeMethods.aa_logon_cancel(_handle);
                }
            }
            catch (ObjectDisposedException)
            {
                // Disposed between the check and the call: nothing is left to cancel.
            }
        }

        private string GetString(LogonStringCall call)
        {
            LogonHandle handle = Handle;
            return Interop.GetString((out IntPtr value, out IntPtr error) => call(handle, out value, out error));
        }

        private string GetOptionalString(LogonStringCall call)
        {
            LogonHandle handle = Handle;
            return Interop.GetOptionalString((out IntPtr value, out IntPtr error) => call(handle, out value, out error));
        }

        private static void OnPrompt(IntPtr userdata, Prompt prompt)
        {
            // Runs on the thread inside aa_logon_sign_with_device: nothing may propagate out of here.
            try
            {
                var call = (PromptCall)GCHandle.FromIntPtr(userdata).Target;
                if (call.Failure != null)
                {
                    return;
                }
                try
                {
                    call.Prompt(prompt);
                }
                catch (Exception e)
                {
                    call.Failure = e;
                    // Once touched, the signature is on its way and the call ends by itself; a
                    // cancel then would linger and cancel the next SignWithDevice instead.
                    if (prompt != global::AaLogon.Prompt.Touched)
                    {
                        NativeMethods.aa_logon_cancel(call.Handle);
                    }
                }
            }
            catch
            {
                // Only reachable if the runtime itself fails (e.g. out of memory); the library
                // must not see an exception either way.
            }
        }

        private delegate AaStatus LogonStringCall(LogonHandle logon, out IntPtr value, out IntPtr error);

        /// <summary>The state of one <see cref="SignWithDevice"/> call, reached through its userdata.</summary>
        private sealed class PromptCall
        {
            internal PromptCall(Action<Prompt> prompt, LogonHandle handle)
            {
                Prompt = prompt;
                Handle = handle;
            }

            internal Action<Prompt> Prompt { get; }

            internal LogonHandle Handle { get; }

            internal Exception Failure { get; set; }
        }
    }
}
