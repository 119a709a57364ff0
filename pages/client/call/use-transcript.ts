import { useRoomContext } from '@livekit/components-react';
import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useEffectEvent, useState } from 'react';
import { sessionQuery } from '../../shared/queries';

/** The topic agents publish live transcriptions on (LiveKit's text-stream convention). */
export const TRANSCRIPTION_TOPIC = 'lk.transcription';

export interface TranscriptEntry {
  key: string;
  role: 'client' | 'coach' | 'ai';
  text: string;
  final: boolean;
  at: number;
}

const normal = (text: string) => text.trim().toLowerCase().replace(/\s+/g, ' ');

/**
 * The session's transcript: the lines the Worker has stored (GET /api/sessions/:id, loaded on
 * joining) and those it pushes over its WebSocket meanwhile, merged with LiveKit transcription text
 * streams as they arrive. A streamed segment grows chunk by chunk until it is final; a stored line
 * with the same speaker and text replaces it. `roleOf` is read when a stream starts.
 */
export function useTranscript(sessionId: string, roleOf: (identity: string) => TranscriptEntry['role']) {
  const room = useRoomContext();
  const session = useQuery(sessionQuery(sessionId)).data;
  const [pushed, setPushed] = useState<TranscriptEntry[]>([]);
  const [live, setLive] = useState<Map<string, TranscriptEntry>>(new Map());
  const roleNow = useEffectEvent(roleOf);

  useEffect(() => {
    room.registerTextStreamHandler(TRANSCRIPTION_TOPIC, async (reader, participant) => {
      const attrs = reader.info.attributes ?? {};
      const key = attrs['lk.segment_id'] ?? reader.info.id;
      const role = roleNow(participant.identity);
      const at = reader.info.timestamp || Date.now();
      let text = '';
      const put = (final: boolean) =>
        setLive((prev) => {
          const next = new Map(prev);
          next.set(key, { key, role, text, final, at });
          return next;
        });
      try {
        for await (const chunk of reader) {
          text += chunk;
          put(false);
        }
        put(attrs['lk.transcription_final'] !== 'false');
      } catch {
        put(true);
      }
    });
    return () => room.unregisterTextStreamHandler(TRANSCRIPTION_TOPIC);
  }, [room]);

  /** A line the Worker stored, pushed over its WebSocket (useRoomEvents). */
  const addStored = useCallback((line: { id: string; speakerRole: TranscriptEntry['role']; text: string; spokenAt: number; kind?: string }) => {
    if (line.kind === 'whisper') return;
    setPushed((prev) =>
      prev.some((l) => l.key === line.id) ? prev : [...prev, { key: line.id, role: line.speakerRole, text: line.text, final: true, at: line.spokenAt }],
    );
  }, []);
  const loaded = (session?.transcript ?? []).map((l) => ({ key: l.id, role: l.speakerRole, text: l.text, final: true, at: Date.parse(l.spokenAt) }));
  const stored = [...loaded, ...pushed.filter((p) => !loaded.some((l) => l.key === p.key))];
  const seen = new Set(stored.map((l) => `${l.role}:${normal(l.text)}`));
  const entries = [...stored, ...[...live.values()].filter((l) => l.text.trim() && !seen.has(`${l.role}:${normal(l.text)}`))].sort((a, b) => a.at - b.at);
  return { entries, addStored };
}
