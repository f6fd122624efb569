import type * as Rcl from 'rclnodejs';
import type { RosTypeName } from '../messages/rosSchemas.ts';

/**
 * rclnodejs as the ROS transport sees it, typed by rclnodejs's own declarations (the package is an
 * optionalDependency, so its `.d.ts` is present on every install, ROS or not). Only `import type`
 * here: the module itself is loaded lazily, in RosTransport, and only when the ROS transport runs.
 */
export type RclModule = typeof Rcl;
export type RclNode = Rcl.Node;
export type RclPublisher = Rcl.Publisher<Rcl.TypeClass<Rcl.MessageTypeClassName>>;
export type RclGoalHandle = Rcl.ServerGoalHandle<Rcl.TypeClass<Rcl.ActionTypeClassName>>;
export type RclQos = Rcl.QoS | string;

/**
 * Our type names as rclnodejs's type-class parameter. The generated interface types of
 * emu_robotics_msgs exist only after bridge/ros/setup.sh ran, so typechecking must not depend on
 * them; rclnodejs checks the name when the publisher or subscription is created.
 */
export function messageType(name: RosTypeName): Rcl.TypeClass<Rcl.MessageTypeClassName> {
  return name as never;
}

export function actionType(name: 'emu_robotics_msgs/action/PlanTask'): Rcl.TypeClass<Rcl.ActionTypeClassName> {
  return name as never;
}
