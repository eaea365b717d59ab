/* A vehicle's alert in words, for the map's list and a request's history alike: speeding, a
   territory left or entered, a receiver gone still, a tracker silent and back, a sensor past its
   threshold. `v` and `t` are the vehicle's and the territory's names, as the caller knows them. */
import * as Hub from './hub.js';

export const ALERTS = ['overspeed', 'territory_left', 'territory_entered', 'frozen', 'offline', 'online', 'sensor_excursion', 'sensor_back'];

export function alertText(a, v, t) {
  switch (a.kind) {
    case 'overspeed': return Hub.t('map.a.overspeed', { v, kmh: Math.round(a.kmh), limit: Math.round(a.limit_kmh) });
    case 'territory_left': return Hub.t('map.a.left', { v, t });
    case 'territory_entered': return Hub.t('map.a.entered', { v, t });
    case 'frozen': return Hub.t('map.a.frozen', { v });
    case 'offline': return Hub.t('map.a.offline', { v, at: Hub.fmtTime(a.since) });
    case 'online': return Hub.t('map.a.online', { v });
    case 'sensor_excursion': return Hub.t('map.a.sensor', { v, worst: a.worst });
    case 'sensor_back': return Hub.t('map.a.sensorBack', { v });
    default: return v + ': ' + a.kind;
  }
}
