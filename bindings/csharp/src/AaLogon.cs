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
    /// <see cref="SignWithDevice"/> or <see cref="WaitForApproval(TimeSpan, TimeSpan, Action{Prompt}, CancellationToken)"/>)
    /// may be used from another thread while a call runs — other
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
        private static readonly NativeMethods.aa_pin_callback PinTrampoline = OnPin;
        private static readonly IntPtr PromptTrampolinePointer = Marshal.GetFunctionPointerForDelegate(PromptTrampoline);
        private static readonly IntPtr PinTrampolinePointer = Marshal.GetFunctionPointerForDelegate(PinTrampoline);

        private readonly LogonHandle _handle;
        // Blocking calls (sign, approval wait) running now; Dispose cancels them.
        private int _runningWaits;

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

        /// <summary>
        /// The base URL of the server that answered this logon's last call: with failover URLs,
        /// the server the logon continues on (another server of the cluster takes it over only
        /// when this one fails; see <see cref="AaClientOptions.FailoverUrls"/>).
        /// </summary>
        public string Server
        {
            get { return GetString(NativeMethods.aa_logon_server); }
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
        /// The current method's security-key step in one blocking call. For U2F:1: gathers the sign
        /// request (unless already gathered), waits for a security key that owns one of its key
        /// handles (over U2F, or CTAP2 for keys without U2F) and for the user's touch, and forwards
        /// the signature. For FIDO2:1: fetches the request options, gets a CTAP2 assertion with the
        /// user verification they ask for (the key's built-in UV first, else its PIN through
        /// <paramref name="pin"/>) and posts it. Returns the server's verdict
        /// (<see cref="LogonStatus.Ok"/> or <see cref="LogonStatus.Next"/>).
        /// </summary>
        /// <param name="timeout">How long to wait for a key, the PIN and a touch; <see cref="TimeSpan.Zero"/> means the library's default (30 s).</param>
        /// <param name="prompt">
        /// Told what the user should do (a <see cref="T:AaLogon.Prompt"/> value); called on this thread during
        /// the call, must return promptly. If it throws, the wait is cancelled and the exception
        /// is rethrown from this method once the library has returned. May be null.
        /// </param>
        /// <param name="cancellationToken">Cancels the wait, from any thread, within about 100 ms.</param>
        /// <param name="pin">
        /// Asked for the key's PIN with the retries left, only when the request needs user
        /// verification and the key has no built-in UV; returns the PIN, or null to give none
        /// (<see cref="PinRequiredException"/>). Called on this thread during the call; if it throws,
        /// the sign is cancelled and the exception rethrown here. The PIN is copied into a buffer the
        /// library wipes; .NET strings cannot be wiped, so keep yours short-lived. May be null.
        /// </param>
        /// <exception cref="CancelledException">Cancelled through <see cref="Cancel"/> or <paramref name="cancellationToken"/>; the logon stays usable.</exception>
        /// <exception cref="NoDeviceException">No security key appeared before the timeout.</exception>
        /// <exception cref="NoMatchingKeyException">No present key is enrolled for the user.</exception>
        /// <exception cref="UserPresenceTimeoutException">The key was not touched before the timeout.</exception>
        /// <exception cref="PinInvalidException">The PIN was wrong; the message says how many retries are left.</exception>
        /// <exception cref="PinBlockedException">The key's PIN is blocked.</exception>
        /// <exception cref="PinRequiredException">The key needs its PIN and none was given.</exception>
        /// <exception cref="UvFailedException">The key's built-in user verification failed.</exception>
        /// <exception cref="LogonFailedException">The server rejected the signature or assertion.</exception>
        public LogonStatus SignWithDevice(TimeSpan timeout, Action<Prompt> prompt = null,
            CancellationToken cancellationToken = default(CancellationToken), Func<int, string> pin = null)
        {
            uint timeoutMs = timeout == TimeSpan.Zero ? 0 : AaClientOptions.ToMilliseconds(timeout, nameof(timeout));
            // Once touched, the signature is on its way and the call ends by itself.
            if (pin == null)
            {
                RunPrompted(prompt, global::AaLogon.Prompt.Touched, cancellationToken,
                    (LogonHandle handle, NativeMethods.aa_prompt_callback callback, IntPtr userdata, out IntPtr error) =>
                        NativeMethods.aa_logon_sign_with_device(handle, timeoutMs, callback, userdata, out error));
                return Status;
            }
            RunPrompted(prompt, global::AaLogon.Prompt.Touched, cancellationToken,
                (LogonHandle handle, NativeMethods.aa_prompt_callback callback, IntPtr userdata, out IntPtr error) =>
                {
                    ((PromptCall)GCHandle.FromIntPtr(userdata).Target).Pin = pin;
                    var options = new NativeMethods.aa_sign_options
                    {
                        timeout_ms = timeoutMs,
                        prompt = callback == null ? IntPtr.Zero : PromptTrampolinePointer,
                        pin = PinTrampolinePointer,
                        userdata = userdata,
                    };
                    return NativeMethods.aa_logon_sign_with_device_ex(handle, ref options, out error);
                });
            return Status;
        }

        /// <summary>
        /// Blocks until the verdict of an out-of-band method — SMARTPHONE:1 (a push the user
        /// approves in the smartphone app) or VOICE:1 (a phone call) — polling the server every
        /// <paramref name="pollInterval"/>: the first poll sends the push or starts the call, then
        /// <paramref name="prompt"/> is told once <see cref="Prompt.ApproveOnPhone"/> or
        /// <see cref="Prompt.AnswerCall"/> (on this thread; if it throws, the wait is cancelled and the
        /// exception rethrown here). Returns <see cref="LogonStatus.Ok"/> (or <see cref="LogonStatus.Next"/> in a chain).
        /// </summary>
        /// <param name="timeout">The longest wait for a verdict; <see cref="TimeSpan.Zero"/> means the library's default (120 s).</param>
        /// <param name="pollInterval">The pause between polls (at least 10 ms); <see cref="TimeSpan.Zero"/> means 3 s.</param>
        /// <param name="prompt">Told what the user should do; may be null.</param>
        /// <param name="cancellationToken">Cancels the wait from any thread (at once while pausing, else after the poll in flight).</param>
        /// <exception cref="LogonStoppedException">The user rejected the push or call (STOP).</exception>
        /// <exception cref="LogonFailedException">The server failed it (e.g. its own confirmation timeout).</exception>
        /// <exception cref="RequestTimeoutException">No verdict within <paramref name="timeout"/>; the logon process lives on.</exception>
        /// <exception cref="CancelledException">Cancelled through <see cref="Cancel"/> or <paramref name="cancellationToken"/>; the logon stays usable.</exception>
        /// <exception cref="MisuseException">The current method is neither SMARTPHONE:1 nor VOICE:1, or the poll interval is too short.</exception>
        public LogonStatus WaitForApproval(TimeSpan timeout, TimeSpan pollInterval, Action<Prompt> prompt = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            uint timeoutMs = timeout == TimeSpan.Zero ? 0 : AaClientOptions.ToMilliseconds(timeout, nameof(timeout));
            uint pollMs = pollInterval == TimeSpan.Zero ? 0 : AaClientOptions.ToMilliseconds(pollInterval, nameof(pollInterval));
            // No prompt is final: it comes while the wait goes on, so a throwing prompt always cancels.
            RunPrompted(prompt, null, cancellationToken,
                (LogonHandle handle, NativeMethods.aa_prompt_callback callback, IntPtr userdata, out IntPtr error) =>
                    NativeMethods.aa_logon_wait_for_approval(handle, timeoutMs, pollMs, callback, userdata, out error));
            return Status;
        }

        /// <summary>
        /// <see cref="WaitForApproval(TimeSpan, TimeSpan, Action{Prompt}, CancellationToken)"/> with the
        /// library's poll interval (3 s, as AA's own web client polls).
        /// </summary>
        public LogonStatus WaitForApproval(TimeSpan timeout, Action<Prompt> prompt = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return WaitForApproval(timeout, TimeSpan.Zero, prompt, cancellationToken);
        }

        /// <summary>
        /// Sends any <c>response</c> object to the current method: a CARD:1 payload
        /// (<c>{"card_uid":"…","card_cert":""}</c>), a FINGER:1 <c>capture</c>, or the payload of a method
        /// without a typed call. It may hold secrets: this method wipes its UTF-8 copy and the
        /// library its own after sending.
        /// </summary>
        /// <returns>The server's verdict: <see cref="LogonStatus.Next"/>, <see cref="LogonStatus.Ok"/> or <see cref="LogonStatus.MoreData"/>.</returns>
        /// <exception cref="MisuseException">It is not one JSON object (<see cref="AaStatus.InvalidArgument"/>); nothing was sent.</exception>
        /// <exception cref="LogonFailedException">The server rejected it.</exception>
        public LogonStatus AnswerJson(string responseJson)
        {
            return SendSecret(responseJson, nameof(responseJson), NativeMethods.aa_logon_answer_json);
        }

        /// <summary>
        /// SMARTPHONE:1 without the push: sends the code the smartphone app shows offline
        /// (<c>{"totp": code}</c>), wiping this method's copy after the call.
        /// </summary>
        /// <exception cref="MisuseException">The current method is not SMARTPHONE:1.</exception>
        /// <exception cref="LogonFailedException">The server rejected the code.</exception>
        public LogonStatus AnswerOfflineTotp(string code)
        {
            return SendSecret(code, nameof(code), NativeMethods.aa_logon_answer_offline_totp);
        }

        /// <summary>
        /// The security questions of SECQUEST:1, question id → text: those of the last answer, else
        /// asked from the server (one request).
        /// </summary>
        /// <exception cref="MisuseException">The current method is not SECQUEST:1.</exception>
        /// <exception cref="MalformedServerDataException">The server sent no questions, or not as id → text.</exception>
        public IReadOnlyDictionary<string, string> GetQuestions()
        {
            string json = GetString((LogonHandle logon, out IntPtr value, out IntPtr error) =>
                NativeMethods.aa_logon_questions_json(logon, out value, out error));
            var questions = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, object> question in Json.AsObject(Json.Parse(json), "the questions"))
            {
                var text = question.Value as string;
                if (text == null)
                {
                    throw new MalformedServerDataException("The question " + question.Key + " has no text.");
                }
                questions.Add(question.Key, text);
            }
            return questions;
        }

        /// <summary>
        /// Answers every security question in one call (question id → answer, the ids of
        /// <see cref="GetQuestions"/>). The answers travel as one UTF-8 buffer, wiped after the call
        /// (the strings themselves are immutable and stay yours).
        /// </summary>
        /// <exception cref="MisuseException">The ids are not exactly those asked (<see cref="AaStatus.InvalidArgument"/>); nothing was sent.</exception>
        /// <exception cref="LogonFailedException">An answer is wrong.</exception>
        public LogonStatus AnswerQuestions(IReadOnlyDictionary<string, string> answers)
        {
            if (answers == null)
            {
                throw new ArgumentNullException(nameof(answers));
            }
            byte[] json = SecretJson.ObjectOfStrings(answers, nameof(answers));
            AaStatus status;
            IntPtr error;
            try
            {
                status = NativeMethods.aa_logon_answer_questions_json(Handle, json, out error);
            }
            finally
            {
                Utf8.Wipe(json);
            }
            Interop.Check(status, error);
            return Status;
        }

        /// <summary>
        /// After <see cref="LogonStatus.Next"/>: the methods that may come next (pass one to
        /// <see cref="Next"/>), in the server's chain order; empty for any other status.
        /// </summary>
        public IReadOnlyList<string> NextMethods
        {
            get
            {
                string json = GetString(NativeMethods.aa_logon_next_methods_json);
                return Json.ToStrings(Json.Parse(json), "the next methods");
            }
        }

        /// <summary>Sends a secret string through <paramref name="call"/> and wipes its UTF-8 copy.</summary>
        private LogonStatus SendSecret(string secret, string parameterName, SecretCall call)
        {
            byte[] bytes = Utf8.Encode(secret, parameterName);
            AaStatus status;
            IntPtr error;
            try
            {
                status = call(Handle, bytes, out error);
            }
            finally
            {
                Utf8.Wipe(bytes);
            }
            Interop.Check(status, error);
            return Status;
        }

        /// <summary>
        /// Runs a blocking call that tells <paramref name="prompt"/> what the user should do, cancelled
        /// by <paramref name="cancellationToken"/> and by <see cref="Dispose"/>. A prompt that throws
        /// cancels the wait (unless it was told <paramref name="final"/>, after which nothing waits)
        /// and its exception is rethrown once the library returned.
        /// </summary>
        private void RunPrompted(Action<Prompt> prompt, Prompt? final, CancellationToken cancellationToken,
            PromptedCall native)
        {
            LogonHandle handle = Handle;
            var call = new PromptCall(prompt, handle, final);
            GCHandle callHandle = GCHandle.Alloc(call);
            AaStatus status;
            IntPtr error;
            Interlocked.Increment(ref _runningWaits);
            try
            {
                using (cancellationToken.CanBeCanceled
                           ? cancellationToken.Register(CancelQuietly)
                           : default(CancellationTokenRegistration))
                {
                    status = native(handle, prompt == null ? null : PromptTrampoline, GCHandle.ToIntPtr(callHandle),
                        out error);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _runningWaits);
                callHandle.Free();
            }
            if (call.Failure != null)
            {
                Interop.Discard(error);
                ExceptionDispatchInfo.Capture(call.Failure).Throw();
            }
            Interop.Check(status, error);
        }

        /// <summary>
        /// Cancels a running <see cref="SignWithDevice"/> or <see cref="WaitForApproval(TimeSpan, TimeSpan, Action{Prompt}, CancellationToken)"/>
        /// of this logon (or, if none runs, the next one). Safe to call from any thread.
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
        /// Asks the server to go on without an answer: makes SMS_OTP:1, EMAIL_OTP:1 and VOICE_OTP:1
        /// send their code, or polls an out-of-band method once.
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
        /// needed). A <see cref="SignWithDevice"/> or approval wait running on another thread is
        /// cancelled, and the native logon is freed when it has returned.
        /// </summary>
        public void Dispose()
        {
            if (Volatile.Read(ref _runningWaits) > 0)
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
                    // After the final prompt the call ends by itself; a cancel then would linger
                    // and cancel the next call instead.
                    if (prompt != call.Final)
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

        private static AaStatus OnPin(IntPtr userdata, uint retriesLeft, IntPtr pinBuffer, UIntPtr bufferLen)
        {
            // Runs on the thread inside aa_logon_sign_with_device_ex: nothing may propagate out of here.
            try
            {
                var call = (PromptCall)GCHandle.FromIntPtr(userdata).Target;
                if (call.Failure != null || call.Pin == null)
                {
                    return AaStatus.PinRequired;
                }
                string given;
                try
                {
                    given = call.Pin((int)Math.Min(retriesLeft, int.MaxValue));
                }
                catch (Exception e)
                {
                    call.Failure = e;
                    return AaStatus.Cancelled;
                }
                if (given == null)
                {
                    return AaStatus.PinRequired;
                }
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(given);
                try
                {
                    if (Array.IndexOf(bytes, (byte)0) >= 0 || (ulong)bytes.Length >= (ulong)bufferLen)
                    {
                        call.Failure = new ArgumentException(
                            "the PIN must be at most " + ((ulong)bufferLen - 1) + " UTF-8 bytes without NUL");
                        return AaStatus.Cancelled;
                    }
                    Marshal.Copy(bytes, 0, pinBuffer, bytes.Length);
                    Marshal.WriteByte(pinBuffer, bytes.Length, 0);
                    return AaStatus.Ok;
                }
                finally
                {
                    Array.Clear(bytes, 0, bytes.Length);
                }
            }
            catch
            {
                // Only reachable if the runtime itself fails; the library must not see an exception.
                return AaStatus.PinRequired;
            }
        }

        private delegate AaStatus LogonStringCall(LogonHandle logon, out IntPtr value, out IntPtr error);

        private delegate AaStatus SecretCall(LogonHandle logon, byte[] secret, out IntPtr error);

        private delegate AaStatus PromptedCall(LogonHandle logon, NativeMethods.aa_prompt_callback prompt,
            IntPtr userdata, out IntPtr error);

        /// <summary>The state of one prompted call, reached through its userdata.</summary>
        private sealed class PromptCall
        {
            internal PromptCall(Action<Prompt> prompt, LogonHandle handle, Prompt? final)
            {
                Prompt = prompt;
                Handle = handle;
                Final = final;
            }

            internal Action<Prompt> Prompt { get; }

            internal LogonHandle Handle { get; }

            /// <summary>The prompt after which the call ends by itself, if any.</summary>
            internal Prompt? Final { get; }

            internal Exception Failure { get; set; }

            /// <summary>The PIN function of a sign with a PIN, if any.</summary>
            internal Func<int, string> Pin { get; set; }
        }
    }
}
