import type { Participant } from 'livekit-client';
import { ParticipantEvent } from 'livekit-client';
import { useEffect, useState } from 'react';

/** One attribute of a participant (e.g. the agent's `lk.agent.state`), kept current as it changes. */
export function useParticipantAttribute(participant: Participant | undefined, key: string): string | undefined {
  const [value, setValue] = useState(() => participant?.attributes[key]);
  useEffect(() => {
    if (!participant) {
      setValue(undefined);
      return;
    }
    const update = () => setValue(participant.attributes[key]);
    update();
    participant.on(ParticipantEvent.AttributesChanged, update);
    return () => {
      participant.off(ParticipantEvent.AttributesChanged, update);
    };
  }, [participant, key]);
  return value;
}
